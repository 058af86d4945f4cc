"""The H200 proof's server (issue 21): `transformers serve` on the GPU behind a request shim.

sglang.bench_serving's OpenAI-completions payload carries SGLang's own fields `ignore_eos` and
`best_of`, which `transformers serve` refuses with HTTP 422. The shim listens on --port, drops
exactly those fields from request bodies, and forwards everything else (streamed responses chunk
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
server = subprocess.Popen(
    [cli, "serve", args.model, "--host", "127.0.0.1", "--port", str(upstream_port)],
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


class Shim(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def forward(self, method):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if body and self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                doc = json.loads(body)
                if isinstance(doc, dict):
                    for k in DROPPED:
                        doc.pop(k, None)
                    body = json.dumps(doc).encode()
            except ValueError:
                pass
        conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        headers["Content-Length"] = str(len(body))
        try:
            conn.request(method, self.path, body=body if method == "POST" else None, headers=headers)
            r = conn.getresponse()
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
