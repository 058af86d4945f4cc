"""Real torch profiler traces for sglci's trace parser tests (issue 20), made on a GPU machine.

A small Llama-architecture model (random bf16 weights, 2 layers) runs one prefill (batch 4 of
256 tokens) and four decode steps on the GPU, each under torch.profiler with CPU and CUDA
activities, as SGLang's profiler records them; the Chrome traces are written gzipped to $OUT:

    prefill.trace.json.gz   decode.trace.json.gz   env.txt

Run by hand on the device (`scripts/h200-proof.sh` does, or see docs/efficiency.md); the outputs
are committed under runner/tests/data/traces and publisher/tests/data/traces.
"""

import gzip
import os
import shutil
import sys

import torch
from torch.profiler import ProfilerActivity, profile
from transformers import LlamaConfig, LlamaForCausalLM

out = os.environ.get("OUT", ".")
torch.manual_seed(0)
cfg = LlamaConfig(
    hidden_size=1024,
    intermediate_size=2816,
    num_hidden_layers=2,
    num_attention_heads=16,
    num_key_value_heads=8,
    vocab_size=32000,
    max_position_embeddings=2048,
)
model = LlamaForCausalLM(cfg).to(device="cuda", dtype=torch.bfloat16).eval()
ids = torch.randint(0, cfg.vocab_size, (4, 256), device="cuda")


def trace(name, fn):
    fn()  # warm-up: kernels compiled and caches allocated outside the trace
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    raw = os.path.join(out, f"{name}.trace.json")
    prof.export_chrome_trace(raw)
    with open(raw, "rb") as src, gzip.open(raw + ".gz", "wb", compresslevel=9) as dst:
        shutil.copyfileobj(src, dst)
    os.remove(raw)
    print(name, os.path.getsize(raw + ".gz"), "bytes gzipped", file=sys.stderr)


with torch.no_grad():
    trace("prefill", lambda: model(ids, use_cache=True))
    past = model(ids, use_cache=True).past_key_values
    nxt = ids[:, -1:]

    def decode():
        p = past
        for _ in range(4):
            r = model(nxt, past_key_values=p, use_cache=True)
            p = r.past_key_values

    trace("decode", decode)

with open(os.path.join(out, "env.txt"), "w") as f:
    f.write(f"torch {torch.__version__}\n")
    f.write(f"cuda {torch.version.cuda}\n")
    f.write(f"device {torch.cuda.get_device_name(0)}\n")
