"""PyTorch side of `npm run bench:models -- --full`: the same shapes (BERT-base encoder at seq 128,
GPT-2 small decoder with a 128-token prompt and 64 greedy tokens), eager fp32 with TF32 off,
random init, CUDA-synchronised wall clock. Prints JSON {label: value} with bench-models.ts's
labels, for TABPOOL_BENCH_BASELINE."""
import json
import os
import statistics
import sys
import time

import torch
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"
out = {}


def now():
    torch.cuda.synchronize()
    return time.perf_counter()


with torch.no_grad():
    cfg = BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                     vocab_size=30522, max_position_embeddings=512, attn_implementation="eager")
    cpu_model = BertModel(cfg).eval()
    ids = (torch.arange(128) * 7919 % 30522).unsqueeze(0)
    save = sys.argv[sys.argv.index("--save") + 1] if "--save" in sys.argv else None
    if save:
        # The same weights for our kernels (safetensors) and ONNX Runtime Web (model.onnx).
        cpu_model.save_pretrained(save, safe_serialization=True)
        class Encoder(torch.nn.Module):  # a plain signature for the exporter
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state

        feeds = (ids, torch.ones_like(ids), torch.zeros_like(ids))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        try:
            torch.onnx.export(Encoder(cpu_model), feeds, os.path.join(save, "model.onnx"),
                              input_names=names, output_names=["last_hidden_state"], opset_version=17,
                              dynamo=False)
        except Exception as e:  # noqa: BLE001 - the ORT peer is optional; say why it is missing
            print(f"onnx export failed: {e}", file=sys.stderr)
    t0 = now()
    model = cpu_model.to(dev)
    t1 = now()
    model(input_ids=ids.to(dev)).last_hidden_state.cpu()
    t2 = now()
    out["encoder cold: load + first forward"] = (t2 - t0) * 1000
    out["encoder first forward (weights on GPU)"] = (t2 - t1) * 1000
    times = []
    for _ in range(30):
        a = now()
        model(input_ids=ids.to(dev)).last_hidden_state.cpu()
        times.append((now() - a) * 1000)
    out["encoder seq 128 latency"] = statistics.median(times[5:])
    del model, cpu_model

    cfg = GPT2Config(n_embd=768, n_layer=12, n_head=12, vocab_size=50257, n_positions=1024,
                     attn_implementation="eager")
    model = GPT2LMHeadModel(cfg).eval().to(dev)
    prompt = (torch.arange(128) * 7919 % 50257).unsqueeze(0).to(dev)
    prefill, rates = [], []
    for r in range(4):
        a = now()
        o = model(input_ids=prompt, use_cache=True)
        nxt = o.logits[:, -1].argmax(-1, keepdim=True)
        nxt.cpu()
        b = now()
        past = o.past_key_values
        for _ in range(64):
            o = model(input_ids=nxt, past_key_values=past, use_cache=True)
            past = o.past_key_values
            nxt = o.logits[:, -1].argmax(-1, keepdim=True)
            nxt.cpu()  # one token back per step, as a streaming generator does
        c = now()
        if r > 0:
            prefill.append((b - a) * 1000)
            rates.append(64 / (c - b))
    out["decoder prefill 128 tokens"] = statistics.median(prefill)
    out["decoder decode tokens/s"] = statistics.median(rates)

json.dump(out, sys.stdout)
print()
