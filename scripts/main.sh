#!/usr/bin/env bash
# The main job on the embedded defaults (local directory store ./sglci-data with its spool queue),
# end to end on this machine: prepare the CPU smoke suite (scripts/smoke-setup.sh), run it with
# sglci-runner (llama.cpp server, GSM8K gate, the real sglang.bench_serving sweep), then the PD
# test (the real sglang-router over two llama.cpp workers), and ship the bundles to the store; the publisher ingests the announced bundle and the bundled sample of the
# predecessor's history (samples/legacy), renders the site into ./sglci-site and serves it on
# http://127.0.0.1:8000/ (Ctrl-C stops). SGLCI_NO_SERVE=1 stops after rendering.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sglci-target}"
eval "$(bash scripts/smoke-setup.sh)"
cargo build --release -q -p sglci-runner -p sglci-publisher
bin="$CARGO_TARGET_DIR/release"
# A failed smoke run (exit 1) is still shipped and published, with its failure class.
"$bin/sglci-runner" run --suite smoke || [ $? -eq 1 ]
"$bin/sglci-runner" run --suite smoke-pd || [ $? -eq 1 ]
"$bin/sglci-publisher" ingest --pending
"$bin/sglci-publisher" ingest --legacy samples/legacy
"$bin/sglci-publisher" site --out sglci-site --window-days 730
if [ "${SGLCI_NO_SERVE:-}" != 1 ]; then
  exec "$bin/sglci-publisher" serve --dir sglci-site --logs sglci-runs --logs samples/legacy
fi
