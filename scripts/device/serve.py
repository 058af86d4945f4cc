"""The H200 proof's server (issue 21): `transformers serve` on the GPU behind a request shim.

sglang.bench_serving's OpenAI-completions payload carries SGLang's own fields `ignore_eos` and
`best_of`, which `transformers serve` refuses with HTTP 422. The shim listens on --port, drops
exactly those fields from request bodies (and any other field a 422 names, said in the log),
and forwards everything else (streamed responses chunk
by chunk, so TTFT and ITL are the server's) to `transformers serve` on --port + 1. Without
`ignore_eos` a response may stop at the end-of-sequence token; with random weights that token is
1 in 128,256 per step, and bench_serving counts the tokens it got.

Usage: serve.py --model DIR --port P. Prints `shim ready` once the server answers /v1/models.
Stops its server on SIGTERM.
"""

import argparse
import http.client
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import time

DROPPED = ("ignore_eos", "best_of")

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--port", type=int, required=True)
args, _ = ap.parse_known_args()
upstream_port = args.port + 1
os.makedirs(os.path.expanduser("~/.cache/huggingface/hub"), exist_ok=True)
cli = shutil.which("transformers") or os.path.join(os.path.dirname(sys.executable), "transformers")
command = [cli, "serve", args.model, "--host", "127.0.0.1", "--port", str(upstream_port)]
if os.environ.get("SHIM_UPSTREAM"):
    # Another server in its place (the shim's own check on a machine without transformers).
    command = os.environ["SHIM_UPSTREAM"].split() + [str(upstream_port)]
server = subprocess.Popen(
    command,
    stdout=sys.stdout,
    stderr=sys.stderr,
)


def stop(*_):
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def refused_fields(body):
    """The request fields a 422 names (FastAPI's `detail[].loc = ["body", NAME]`)."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return []
    names = []
    for d in detail if isinstance(detail, list) else []:
        loc = d.get("loc") if isinstance(d, dict) else None
        if isinstance(loc, list) and len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], str):
            names.append(loc[1])
    return names


class Shim(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def upstream(self, method, body):
        conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        headers["Content-Length"] = str(len(body))
        conn.request(method, self.path, body=body if method == "POST" else None, headers=headers)
        return conn, conn.getresponse()

    def forward(self, method):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        doc = None
        if body and self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
        if isinstance(doc, dict):
            for k in DROPPED:
                doc.pop(k, None)
            body = json.dumps(doc).encode()
        try:
            conn, r = self.upstream(method, body)
            # A field the server still refuses is dropped too, once, and said in the log.
            if r.status == 422 and isinstance(doc, dict):
                err = r.read()
                names = [n for n in refused_fields(err) if n in doc]
                if names:
                    print(f"shim: dropped {names}: the server refused them", file=sys.stderr, flush=True)
                    for n in names:
                        doc.pop(n)
                    conn.close()
                    conn, r = self.upstream(method, json.dumps(doc).encode())
                else:
                    print(f"shim: 422 {err[:500]!r}", file=sys.stderr, flush=True)
                    self.send_response(422)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(err)
                    return
        except OSError as e:
            self.send_error(502, f"upstream: {e}")
            return
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            self.wfile.write(chunk)
            self.wfile.flush()
        conn.close()

    def do_GET(self):
        self.forward("GET")

    def do_POST(self):
        self.forward("POST")

    def log_message(self, fmt, *a):
        pass


def ready():
    try:
        c = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=3)
        c.request("GET", "/v1/models")
        return c.getresponse().status == 200
    except OSError:
        return False


deadline = time.time() + 600
while not ready():
    if server.poll() is not None:
        sys.exit(f"transformers serve exited ({server.returncode})")
    if time.time() > deadline:
        stop()
    time.sleep(1)
print("shim ready", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Shim).serve_forever()
