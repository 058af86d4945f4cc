#!/usr/bin/env bash
# The Lambda under `cargo lambda watch`, end to end on loopback (issues 6 and 17): moto_server
# stands in for S3, SQS and SSM; `sglci-runner ship` uploads a sample run and announces it; the
# announcement is received from SQS and wrapped as the Lambda service wraps it; `cargo lambda
# invoke` runs the handler; the history and the site must then be in the bucket, the run's raw
# files on the log repository's branch and the site on the Pages branch (two bare repositories),
# and its card at a loopback Teams receiver whose URL the function read from an SSM SecureString.
# A scheduled daily-summary event then sends the summary card once, even when invoked twice.
# Everything started here is stopped on exit. Needs: moto_server and boto3 (pip install
# 'moto[server]'), cargo-lambda, git.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sglci-target}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # cargo lambda watch runs the function as a child process: stop the whole group.
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 "${2:-300}"); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}

moto_port="$(free_port)"
lambda_port="$(free_port)"
teams_port="$(free_port)"
# A Teams webhook on loopback: every POST body becomes one line of teams.jsonl.
setsid python3 - "$teams_port" "$work/teams.jsonl" >"$work/teams.log" 2>&1 <<'PY' &
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write(json.dumps(json.loads(body)) + "\n")
        self.send_response(200); self.send_header("Content-Length", "1"); self.end_headers(); self.wfile.write(b"1")
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
pids+=($!)
git init -q --bare "$work/log.git"
git init -q --bare "$work/pages.git"
setsid moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_port "$moto_port" 30

export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=sglci-test AWS_SECRET_ACCESS_KEY=sglci-test \
  AWS_EC2_METADATA_DISABLED=true

wait_port "$teams_port" 30
queue_url="$(TEAMS_URL="http://127.0.0.1:$teams_port/webhook" python3 - <<'PY'
import boto3, os
boto3.client("s3").create_bucket(Bucket="sglci")
boto3.client("ssm").put_parameter(Name="/sglci/teams-webhook-url", Type="SecureString",
                                  Value=os.environ["TEAMS_URL"])
print(boto3.client("sqs").create_queue(QueueName="runs")["QueueUrl"])
PY
)"
# Effects start from the current generation (an empty history): this run is the first.
python3 -c 'import boto3; boto3.client("s3").put_object(Bucket="sglci", Key="outbox/cursor.json", Body=b"{\"generation\": 0}")'

# A run as the runner leaves it, shipped by the runner.
run="v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online"
mkdir -p "$work/out/online_benchmark_log/mi30x/GROK1"
cp -r "samples/legacy/online_benchmark_log/mi30x/GROK1/$run" "$work/out/online_benchmark_log/mi30x/GROK1/"
cargo build -q -p sglci-runner
"$CARGO_TARGET_DIR/debug/sglci-runner" ship "$work/out" --run-id grok1-20251210-watch \
  --image "v0.5.6.post1-rocm700-mi30x-20251210" --suite grok-online \
  --store s3://sglci --queue "$queue_url" --spool "$work/spool" >/dev/null

# The SQS event the Lambda service would deliver, from the real message.
QUEUE_URL="$queue_url" python3 - >"$work/event.json" <<'PY'
import boto3, json, os
sqs = boto3.client("sqs")
m = sqs.receive_message(QueueUrl=os.environ["QUEUE_URL"], MaxNumberOfMessages=10,
                        MessageSystemAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
assert len(m) == 1, m
r = m[0]
print(json.dumps({"Records": [{
    "messageId": r["MessageId"], "receiptHandle": r["ReceiptHandle"], "body": r["Body"],
    "attributes": r.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": r["MD5OfBody"],
    "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:runs",
    "awsRegion": "us-east-1"}]}))
PY

setsid cargo lambda watch -A 127.0.0.1 -P "$lambda_port" --bin sglci-publisher-lambda \
  --env-var "SGLCI_STORE=s3://sglci" --env-var "SGLCI_SITE=store:site" \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" --env-var AWS_REGION=us-east-1 \
  --env-var AWS_ACCESS_KEY_ID=sglci-test --env-var AWS_SECRET_ACCESS_KEY=sglci-test \
  --env-var AWS_EC2_METADATA_DISABLED=true --env-var AWS_LAMBDA_LOG_FORMAT=JSON \
  --env-var "SGLCI_LOG_REPO=file://$work/log.git" --env-var "SGLCI_PAGES=file://$work/pages.git" \
  --env-var SGLCI_NOTIFY=teams --env-var SGLCI_TEAMS_WEBHOOK_PARAMETER=/sglci/teams-webhook-url \
  >"$work/watch.log" 2>&1 &
pids+=($!)
wait_port "$lambda_port" 600

# The first invoke compiles the function if needed: allow it time.
response="$(cargo lambda invoke sglci-publisher-lambda -A 127.0.0.1 -P "$lambda_port" \
  --data-file "$work/event.json" --output-format json 2>"$work/invoke.err")" || {
  cat "$work/invoke.err" "$work/watch.log" >&2; exit 1; }
echo "lambda response: $response"
python3 - "$response" <<'PY'
import boto3, json, sys
resp = json.loads(sys.argv[1])
assert resp.get("batchItemFailures") == [], resp
s3 = boto3.client("s3")
index = json.loads(s3.get_object(Bucket="sglci", Key="history/v1/_index.json")["Body"].read())
assert "run-grok1-20251210-watch" in index["partitions"], index
assert index["derived"] == index["generation"], index
# The home page through the site's manifest: a whole site's files are packed (the root names
# the shards, a shard gives the pack, the offset and the length of each packed file).
get = lambda key: s3.get_object(Bucket="sglci", Key=key)["Body"].read()
root = json.loads(get("site/.sglci-manifest.json"))
assert "rest" in root["shards"], root
rest = json.loads(get("site/.sglci-manifest/rest.json"))
at = rest.get("packed", {}).get("index.html")
if at:
    pack, start, length = at
    home = s3.get_object(Bucket="sglci", Key=f"site/.sglci-pack/{pack}.pack",
                         Range=f"bytes={start}-{start + length - 1}")["Body"].read().decode()
else:
    home = get("site/index.html").decode()
assert "2025-12-10" in home
files = sum(len(json.loads(get(f"site/.sglci-manifest/{s}.json"))["files"]) for s in root["shards"])
n = s3.list_objects_v2(Bucket="sglci", Prefix="site/")["KeyCount"]
print(f"lambda watch check: ok (history generation {index['generation']}, {files} site files in {n} objects)")
PY
# The effects: the raw files on the log branch, the site on Pages, one card at the receiver.
git --git-dir="$work/log.git" ls-tree -r --name-only log | grep -q "online_benchmark_log/mi30x/GROK1/$run/" \
  || { echo "the run's raw files are not on the log branch" >&2; exit 1; }
git --git-dir="$work/pages.git" show gh-pages:index.html | grep -q "2025-12-10" \
  || { echo "the site is not on the Pages branch" >&2; exit 1; }
[ "$(wc -l <"$work/teams.jsonl")" -eq 1 ] || { echo "expected one Teams card:" >&2; cat "$work/teams.jsonl" >&2; exit 1; }
grep -q '"effect":"logs"\|effect="logs"\|"effect": "logs"' "$work/watch.log" || { echo "no structured effect line" >&2; tail -20 "$work/watch.log" >&2; exit 1; }

# The scheduled daily summary, twice (a schedule firing again): one summary card.
echo '{"daily_summary": {"hardware": ["mi30x"], "night": {"date": "20251210"}}}' >"$work/summary.json"
for _ in 1 2; do
  cargo lambda invoke sglci-publisher-lambda -A 127.0.0.1 -P "$lambda_port" \
    --data-file "$work/summary.json" --output-format json >"$work/summary.out" 2>"$work/invoke.err" || {
    cat "$work/invoke.err" "$work/watch.log" >&2; exit 1; }
done
grep -q '"night": *"20251210"' "$work/summary.out" || { cat "$work/summary.out" >&2; exit 1; }
[ "$(grep -c 'Daily CI Summary Report' "$work/teams.jsonl")" -eq 1 ] || { echo "expected one summary card:" >&2; cat "$work/teams.jsonl" >&2; exit 1; }
echo "lambda watch check: effects ok (log branch, Pages, $(wc -l <"$work/teams.jsonl") Teams cards, the summary once)"
# The function's logs are JSON lines (AWS_LAMBDA_LOG_FORMAT=JSON).
grep -q '"message":"batch handled"\|"batch handled"' "$work/watch.log" || { echo "no JSON log line from the handler" >&2; tail -20 "$work/watch.log" >&2; exit 1; }
