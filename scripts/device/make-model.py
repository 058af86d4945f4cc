"""A dummy-weight model of a real architecture for the H200 proof (issue 21).

The architecture is Llama-3.2-1B's published config.json (16 layers, hidden 2048, GQA 32/8,
vocab 128256, tied embeddings); the weights are random bf16 (seeded), written with
save_pretrained. The tokenizer is a byte-level BPE trained by `tokenizers` on generated text
(8,192 tokens: the model's larger vocabulary only means ids it never sees), saved as a
PreTrainedTokenizerFast. Nothing is downloaded. Usage: make-model.py OUT_DIR
"""

import json
import os
import random
import sys

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
random.seed(0)

# Llama-3.2-1B's config.json, as Meta published it.
cfg = LlamaConfig(
    hidden_size=2048,
    intermediate_size=8192,
    num_hidden_layers=16,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=64,
    vocab_size=128256,
    max_position_embeddings=131072,
    rms_norm_eps=1e-5,
    rope_theta=500000.0,
    rope_scaling={
        "factor": 32.0,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    tie_word_embeddings=True,
    bos_token_id=1,
    eos_token_id=2,
    torch_dtype="bfloat16",
)
model = LlamaForCausalLM(cfg).to(dtype=torch.bfloat16)
model.generation_config.do_sample = False
model.save_pretrained(out, safe_serialization=True)

words = [
    "".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(random.randint(2, 9)))
    for _ in range(4000)
]
text = [" ".join(random.choice(words) for _ in range(60)) + "." for _ in range(3000)]
tok = Tokenizer(models.BPE(unk_token="<unk>"))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train_from_iterator(
    text,
    trainers.BpeTrainer(
        vocab_size=8192,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    ),
)
fast = PreTrainedTokenizerFast(
    tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
)
fast.save_pretrained(out)
params = sum(p.numel() for p in model.parameters())
with open(os.path.join(out, "sglci-model.json"), "w") as f:
    json.dump({"architecture": "Llama-3.2-1B (config only)", "weights": "random bf16, seed 0",
               "parameters": params, "tokenizer": "byte-level BPE, 8192 tokens"}, f, indent=2)
print(f"{out}: {params} parameters", file=sys.stderr)
