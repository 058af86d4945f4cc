#!/usr/bin/env bash
# The NVIDIA path proved on a real H200 (issue 21; docs/h200-proof.md has what it measured).
#
#   bash scripts/h200-proof.sh prepare   # here: the wheels (.whl/) and a stripped release
#                                        # sglci-runner (.proof/), both git-ignored
#   (device) bash scripts/h200-proof.sh device
#                                        # on the H200 machine, with .whl and .proof carried;
#                                        # leaves $OUT/proof.tar.gz
#   bash scripts/h200-proof.sh keep DIR  # here: DIR holds proof.tar.gz; its store (the bundle
#                                        # and its announcement) goes to samples/h200-proof,
#                                        # the nvidia-smi captures to the runner's fixtures
#
# On the device: install the wheels, make a dummy-weight Llama-3.2-1B (scripts/device/
# make-model.py), start nothing by hand: `sglci-runner run --suite h200-proof --engine local
# --hardware h200` asks the real nvidia-smi whether the GPU is idle, starts `transformers
# serve` behind its request shim (scripts/device/serve.py), skips the GSM8K gate (dummy
# weights) and runs the real sglang.bench_serving sweep; the bundle ships to a directory store.
# The runner is built here (x86_64, glibc 2.36) and carried: the device has no Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"

prepare() {
  mkdir -p .whl .proof
  local p=(--no-deps --only-binary=:all: --python-version 3.12 --implementation cp
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
    --platform manylinux1_x86_64 --platform any -d .whl)
  # transformers serve's extras, the SGLang client without its server's dependencies, and
  # what that client imports beyond the device's packages (../shared/notes/h200.md).
  for w in fastapi==0.165.0 starlette==1.10.0 uvicorn==0.54.0 pydantic==2.14.4 \
    pydantic-core==2.50.5 annotated-types typing-inspection opentelemetry-api \
    importlib-metadata zipp openai==3.57.0 httpx2==2.16.2 httpcore2==2.16.2 truststore \
    idna==3.20 jiter distro sniffio sglang==0.4.9.post2 pybase64 ipython \
    ipython-pygments-lexers decorator jedi parso matplotlib-inline traitlets pexpect \
    ptyprocess prompt-toolkit wcwidth stack-data asttokens executing pure-eval setproctitle; do
    python3 -m pip download -q "${p[@]}" "$w"
  done
  CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release --locked -p sglci-runner
  cp "${CARGO_TARGET_DIR:-target}/release/sglci-runner" .proof/
  du -sh .whl .proof
}

device() {
  : "${OUT:?OUT is the folder that comes back}"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
  local w=/tmp/proof started
  rm -rf "$w" && mkdir -p "$w"
  started=$(date +%s)
  nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total \
    --format=csv,noheader,nounits >"$w/nvidia_smi_h200_idle_before.csv"
  python3 scripts/device/make-model.py "$w/Llama-3.2-1B-dummy"
  # The GPU while the run holds it: one sample every 2 s.
  (while true; do
    nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total \
      --format=csv,noheader,nounits >>"$w/smi.log" 2>/dev/null; sleep 2
  done) &
  local sampler=$!
  set +e
  # Inside the device's 10-minute call: a run still going at 480 s is stopped (SIGTERM: the
  # runner stops its processes and still writes what it has).
  SGLCI_REPO="$PWD" SGLCI_PROOF_MODEL="$w/Llama-3.2-1B-dummy" timeout 480 .proof/sglci-runner run \
    --suite h200-proof --hardware h200 --engine local \
    --image h200-proof/transformers-serve:5.17 --run-id "h200-proof-$(date -u +%Y%m%d)" \
    --out "$w/runs" --store "$w/store" --spool "$w/spool" >"$w/run.json" 2>"$w/run.err"
  echo "rc=$?" >>"$w/run.err"
  set -e
  kill "$sampler"
  echo "device_s=$(($(date +%s) - started))" >>"$w/run.err"
  cat "$w/run.err" | tail -40
  cp "$w/Llama-3.2-1B-dummy/config.json" "$w/Llama-3.2-1B-dummy/sglci-model.json" "$w/" || true
  tar czf "$OUT/proof.tar.gz" -C "$w" runs store run.json run.err smi.log \
    nvidia_smi_h200_idle_before.csv config.json sglci-model.json
  ls -la "$OUT"
}

keep() {
  local src="${1:?the folder holding proof.tar.gz}" tmp
  tmp=$(mktemp -d)
  tar xzf "$src/proof.tar.gz" -C "$tmp"
  # The directory store as the device left it: the bundle (manifest and files) and its
  # announcement in the spool queue. `scripts/main.sh` delivers it into ./sglci-data.
  rm -rf samples/h200-proof && mkdir -p samples/h200-proof
  cp -r "$tmp/store" samples/h200-proof/store
  # The runner's JSON, the model's config and the GPU samples, as evidence beside it.
  cp "$tmp/run.json" "$tmp/smi.log" "$tmp/config.json" "$tmp/sglci-model.json" samples/h200-proof/
  cp "$tmp/nvidia_smi_h200_idle_before.csv" runner/tests/data/gpu/nvidia_smi_h200_idle.csv
  # The busiest sample while the server held its memory.
  sort -t, -k3 -n "$tmp/smi.log" | tail -1 >runner/tests/data/gpu/nvidia_smi_h200_serving.csv
  echo "kept samples/h200-proof"
  rm -rf "$tmp"
}

case "$mode" in
  prepare) prepare ;;
  device) device ;;
  keep) keep "${2:-}" ;;
  *) echo "usage: $0 prepare | device | keep DIR" >&2; exit 2 ;;
esac
