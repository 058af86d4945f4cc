#!/usr/bin/env bash
# The main job on the embedded defaults (local directory store ./sglci-data with its spool queue),
# end to end on this machine: prepare the CPU suites (scripts/smoke-setup.sh), run the smoke suite
# with sglci-runner (llama.cpp's llama-server, GSM8K gate, the real sglang.bench_serving sweep),
# then the PD test (the real sglang-router over two llama-server workers), and ship the bundles to
# the store; the publisher ingests the announced bundles (with the H200 proof's real bundle,
# samples/h200-proof) and the bundled sample of the predecessor's history (samples/legacy), renders the site into ./sglci-site and serves it on
# http://127.0.0.1:8000/ (Ctrl-C stops). SGLCI_NO_SERVE=1 stops after rendering.
# Every step says what it does on stderr; the long ones (llama.cpp, cargo) show their progress.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sglci-target}"
t0=$(date +%s)
say() { echo "main [$(( $(date +%s) - t0 ))s]: $*" >&2; }
say "preparing the CPU suites (scripts/smoke-setup.sh)"
eval "$(bash scripts/smoke-setup.sh)"
say "building sglci-runner and sglci-publisher (release; the first build compiles polars and the AWS SDK, about 15 minutes on 2 cores)"
cargo build --release -p sglci-runner -p sglci-publisher
bin="$CARGO_TARGET_DIR/release"
# A failed smoke run (exit 1) is still shipped and published, with its failure class.
say "running the smoke suite (server, GSM8K gate, request-rate sweep)"
"$bin/sglci-runner" run --suite smoke || [ $? -eq 1 ]
say "running the PD suite (sglang-router over two llama-server workers)"
"$bin/sglci-runner" run --suite smoke-pd || [ $? -eq 1 ]
say "delivering the H200 proof's bundle (samples/h200-proof: a real run on an NVIDIA H200)"
# Once: a store that holds it already has ingested it.
if [ ! -e sglci-data/runs/h200/20261202/h200-proof-20261203/manifest.json ]; then
  mkdir -p sglci-data && cp -r samples/h200-proof/store/. sglci-data/
fi
say "publishing: the announced bundles, the sample history, the site"
"$bin/sglci-publisher" ingest --pending
"$bin/sglci-publisher" ingest --legacy samples/legacy
"$bin/sglci-publisher" site --out sglci-site --window-days 730
say "done: runs in ./sglci-runs, the store in ./sglci-data, the site in ./sglci-site"
if [ "${SGLCI_NO_SERVE:-}" != 1 ]; then
  exec "$bin/sglci-publisher" serve --dir sglci-site --logs sglci-runs --logs samples/legacy \
    --logs samples/h200-proof/store/runs/h200/20261202/h200-proof-20261203/files
fi
