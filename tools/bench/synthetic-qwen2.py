#!/usr/bin/env python3
"""Writes a Hugging Face folder shaped exactly like deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B or,
with --size 7b, -7B (its config.json, tensor names and shapes, one BF16 model.safetensors) with random weights,
for measuring `edge-distill import` and serving at real size where the release cannot be
downloaded. Standard library only: weights are random bf16 of magnitude 2^-7..2^-6, norms 1.0.

usage: synthetic-qwen2.py <out-folder> <tokenizer-folder> [--layers N] [--size 1.5b|7b]
"""
import json, os, struct, sys

out, tokenizer = sys.argv[1], sys.argv[2]
layers = int(sys.argv[sys.argv.index("--layers") + 1]) if "--layers" in sys.argv else 28
size = sys.argv[sys.argv.index("--size") + 1] if "--size" in sys.argv else "1.5b"
# hidden, intermediate, attention heads, key/value heads, vocabulary (the releases' config.json)
shapes = {"1.5b": (1536, 8960, 12, 2, 151936), "7b": (3584, 18944, 28, 4, 152064)}
if size not in shapes:
    sys.exit(f"--size must be one of {', '.join(shapes)}")
h, inner, heads, kv, vocab = shapes[size]
config = {
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
    "hidden_act": "silu", "hidden_size": h, "initializer_range": 0.02, "intermediate_size": inner,
    "max_position_embeddings": 131072, "max_window_layers": 21 if size == "1.5b" else 28, "model_type": "qwen2", "num_attention_heads": heads,
    "num_hidden_layers": layers, "num_key_value_heads": kv, "rms_norm_eps": 1e-06, "rope_theta": 10000,
    "sliding_window": 4096, "tie_word_embeddings": False, "torch_dtype": "bfloat16", "transformers_version": "4.44.0",
    "use_cache": True, "use_mrope": False, "use_sliding_window": False, "vocab_size": vocab,
}
d = h // heads
tensors = [("model.embed_tokens.weight", [vocab, h]), ("model.norm.weight", [h]), ("lm_head.weight", [vocab, h])]
for i in range(layers):
    p = f"model.layers.{i}."
    tensors += [(p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h]),
                (p + "self_attn.q_proj.weight", [heads * d, h]), (p + "self_attn.q_proj.bias", [heads * d]),
                (p + "self_attn.k_proj.weight", [kv * d, h]), (p + "self_attn.k_proj.bias", [kv * d]),
                (p + "self_attn.v_proj.weight", [kv * d, h]), (p + "self_attn.v_proj.bias", [kv * d]),
                (p + "self_attn.o_proj.weight", [h, heads * d]),
                (p + "mlp.gate_proj.weight", [inner, h]), (p + "mlp.up_proj.weight", [inner, h]), (p + "mlp.down_proj.weight", [h, inner])]
tensors.sort()
header, offset = {"__metadata__": {"format": "pt"}}, 0
for name, shape in tensors:
    size = 2 * eval("*".join(map(str, shape)))
    header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
    offset += size
raw = json.dumps(header).encode()
raw += b" " * ((8 - len(raw) % 8) % 8)
high_table = bytes(((b & 0x80) | 0x3C) for b in range(256))  # sign random, exponent 120-121
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(raw)) + raw)
    for name, shape in tensors:
        n = eval("*".join(map(str, shape)))
        if name.endswith("norm.weight"):
            f.write(b"\x80\x3f" * n)  # 1.0
            continue
        for start in range(0, n, 1 << 24):
            m = min(1 << 24, n - start)
            chunk = bytearray(2 * m)
            chunk[0::2] = os.urandom(m)
            chunk[1::2] = os.urandom(m).translate(high_table)
            f.write(chunk)
json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
json.dump({"bos_token_id": 151646, "do_sample": True, "eos_token_id": 151643, "temperature": 0.6, "top_p": 0.95},
          open(os.path.join(out, "generation_config.json"), "w"), indent=2)
for name in ("tokenizer.json", "tokenizer_config.json"):
    with open(os.path.join(tokenizer, name), "rb") as src, open(os.path.join(out, name), "wb") as dst:
        dst.write(src.read())
print(f"wrote {out}: {offset / 1e9:.2f} GB of bf16 weights, {len(tensors)} tensors")
