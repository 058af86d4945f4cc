"""Builds a Hugging Face tokenizer directory from a GGUF file's own vocabulary.

sglang.bench_serving needs a tokenizer directory (to make `random-ids` prompts and count output
tokens). The smoke model ships only as a GGUF, and transformers' GGUF loader needs torch, so the
SentencePiece vocabulary (tokens + scores, byte fallback) is turned into a `tokenizers` Unigram
model here. Usage: python3 make_tokenizer.py MODEL.gguf OUT_DIR
"""

import json
import os
import sys

import gguf
from tokenizers import Tokenizer, decoders, normalizers
from tokenizers.models import Unigram


def field(reader, name):
    f = reader.fields[name]
    return f


def strings(reader, name):
    f = field(reader, name)
    return [bytes(f.parts[i]).decode("utf-8", errors="replace") for i in f.data]


def numbers(reader, name):
    f = field(reader, name)
    return [f.parts[i].tolist()[0] for i in f.data]


def scalar(reader, name, default=None):
    if name not in reader.fields:
        return default
    f = reader.fields[name]
    return f.parts[f.data[0]].tolist()[0]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_tokenizer.py MODEL.gguf OUT_DIR")
    src, out = sys.argv[1], sys.argv[2]
    reader = gguf.GGUFReader(src)
    model = bytes(field(reader, "tokenizer.ggml.model").parts[-1]).decode()
    if model != "llama":
        sys.exit(f"{src}: tokenizer.ggml.model is {model!r}; only SentencePiece ('llama') vocabularies are supported")
    tokens = strings(reader, "tokenizer.ggml.tokens")
    scores = numbers(reader, "tokenizer.ggml.scores")
    unk = scalar(reader, "tokenizer.ggml.unknown_token_id", 0)
    bos = scalar(reader, "tokenizer.ggml.bos_token_id")
    eos = scalar(reader, "tokenizer.ggml.eos_token_id")
    pad = scalar(reader, "tokenizer.ggml.padding_token_id")
    tok = Tokenizer(Unigram(list(zip(tokens, scores)), unk_id=unk, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.decoder = decoders.Sequence(
        [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 32768,
        "bos_token": tokens[bos] if bos is not None else None,
        "eos_token": tokens[eos] if eos is not None else None,
        "unk_token": tokens[unk],
        "pad_token": tokens[pad] if pad is not None else None,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"{out}: {len(tokens)} tokens from {src}")


if __name__ == "__main__":
    main()
