#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/<target>/) from the test data: the parser
# scenario files of core/tests/data, the sample log tree, the suites, queue messages and
# manifests from the tests, and a triage file. Idempotent; the corpora are not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
seed() { # seed TARGET FILE...
  local dir="fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(sha256sum "$f" | cut -c1-16)"; done
  return 0
}
data=core/tests/data
seed parse_alert $data/alert/*
seed parse_bench_serving $data/client_log/* $data/bench_jsonl/*
seed parse_cron $data/cron/* samples/legacy/cron_log/*/*/*
seed parse_gsm8k $data/gsm8k/* $data/bench_sglang/*
seed parse_offline $data/offline_csv/* $data/one_batch/*
seed parse_online_csv $data/online_csv/*
seed parse_pd $data/pd_summary/* $data/pd_gsm8k/*
seed parse_plots_log $(find samples/legacy -name 'process_and_generate*' | head -5)
seed parse_sanity $data/sanity_timing/*
seed parse_server_log $data/server_log/*
seed parse_timing $data/timing/*
seed parse_unit_test $data/unit_test/*
seed parse_upstream $data/upstream/*
seed suite_toml suites/*.toml
seed redact core/tests/secret-forms.txt
seed parse_ab samples/legacy/ab_log/*/*/comparison.json
seed parse_trace $data/trace/*
seed efficiency runner/tests/data/models/*/config.json
seed mconf runner/tests/data/models/*/config.json
mk() { # mk TARGET NAME CONTENT
  mkdir -p "fuzz/corpus/$1"; printf '%s' "$3" > "fuzz/corpus/$1/$2"
}
mk queue_message announcement '{"schema":1,"manifest":"runs/mi30x/20251210/r1/manifest.json"}'
mk queue_message s3-event '{"Records":[{"s3":{"object":{"key":"runs/mi30x/20251210/r%2B1/manifest.json"}}}]}'
mk queue_message s3-test '{"Service":"Amazon S3","Event":"s3:TestEvent"}'
mk manifest one-file '{"schema":1,"run_id":"r1","hardware":"mi30x","date":"20251210","image":"img","suite":"s","files":[{"path":"a.log","sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03","bytes":6}]}'
mk grid seed-form '{1,2,4,8};{1024,2048}
{64};{4096}
'
mk grid toml-form 'batch_sizes = [1, 8]
input_lens = [512]
output_lens = [16]
'
mk image_ref nightly 'rocm/sgl-dev:v0.5.6.post2-rocm700-mi30x-20251216'
mk image_ref release 'lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x'
mk image_ref cuda 'lmsysorg/sglang:v0.5.6-cu129-amd64'
mk image_ref digest "127.0.0.1:5000/sglci/smoke@sha256:$(printf 'ab%.0s' $(seq 32))"
mk image_ref label 'v0.5.6-cu129-h200-20251216-g1a2b3c4d5e'
mk triage_toml triage "$(sed -n '/^\/\/! ```toml/,/^\/\/! ```$/p' publisher/src/triage.rs | sed '1d;$d' | sed 's|^//! \{0,1\}||')"
echo "seeded: $(find fuzz/corpus -type f | wc -l) files in $(ls fuzz/corpus | wc -l) corpora"
