"""PyTorch side of the model benchmark (bench-compare.ts runs it): eager fp32 with TF32 off on the
SAME random weights our side wrote under --work (bert/ and gpt2/, Hugging Face layout), with
CUDA-synchronised wall-clock timings shaped like ours:

- encoder: median of --runs warm forwards of BertModel at the same input ids, each including
  the copy of last_hidden_state back to the host; the cold run is weights on the CPU ->
  .to(cuda) + first forward (the CUDA context is created before, as our device is);
- decoder: GPT2LMHeadModel, prefill over the prompt then one step per token with
  past_key_values, greedy (argmax), one token back to the host per step as a streaming
  generator does; tok/s over the decode steps after the first token.

With --export-onnx PATH it also exports the same BertModel to ONNX (dynamo exporter, falling
back to the TorchScript one) for ONNX Runtime Web. Writes one JSON file (--json); failures are
recorded in it rather than raised, so the benchmark still prints what did run.
"""
import argparse
import json
import os
import statistics
import sys
import time
import traceback

import numpy as np
import torch
import transformers
from safetensors.torch import load_file
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

p = argparse.ArgumentParser()
p.add_argument("--work", required=True)
p.add_argument("--json", required=True)
p.add_argument("--runs", type=int, default=20)
p.add_argument("--decode-runs", type=int, default=3)
p.add_argument("--new-tokens", type=int, default=64)
p.add_argument("--export-onnx", default=None)
args = p.parse_args()

dev = "cuda" if torch.cuda.is_available() else "cpu"
result = {
    "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "errors": [],
}


def save():
    with open(args.json, "w") as f:
        json.dump(result, f)


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


def now():
    sync()
    return time.perf_counter()


def load(cls, config_cls, folder, prefix):
    """Builds `cls` from config.json and loads model.safetensors, stripping `prefix` (the
    checkpoint is BertForSequenceClassification's layout; BertModel's names lack 'bert.')."""
    config = config_cls.from_pretrained(folder)
    model = cls(config).eval()
    state = load_file(os.path.join(folder, "model.safetensors"))
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing, _ = model.load_state_dict(state, strict=False)
    params = dict(model.named_parameters())
    missing = [k for k in missing if k in params and k != "lm_head.weight"]  # lm_head is tied
    if missing:
        raise RuntimeError(f"{folder}: weights missing for {missing[:5]}")
    if "lm_head.weight" in params and hasattr(model, "transformer"):
        lm = model.lm_head.weight
        if lm.data_ptr() != model.transformer.wte.weight.data_ptr():
            model.lm_head.weight = model.transformer.wte.weight
    return model


# The CUDA context (and its ~hundreds of ms) is up before any timing, as our GPU device is.
if dev == "cuda":
    torch.zeros(1, device=dev).sum().item()

with torch.no_grad():
    try:
        folder = os.path.join(args.work, "bert")
        ids_list = json.load(open(os.path.join(folder, "input_ids.json")))
        ids_cpu = torch.tensor([ids_list], dtype=torch.long)
        model = load(BertModel, BertConfig, folder, "bert.")
        t0 = now()
        model = model.to(dev)
        t1 = now()
        first = model(input_ids=ids_cpu.to(dev)).last_hidden_state.cpu()
        t2 = now()
        bert = {
            "coldMs": (t2 - t0) * 1000,
            "firstForwardMs": (t2 - t1) * 1000,
            "attention": getattr(model.config, "_attn_implementation", None),
        }
        ours_path = os.path.join(args.work, "ours-bert-last.f32")
        if os.path.exists(ours_path):
            ours = np.fromfile(ours_path, dtype=np.float32)
            ref = first.numpy().reshape(-1)
            if ours.size == ref.size:
                bert["maxAbsDiffVsOurs"] = float(np.max(np.abs(ours - ref)))
            bert["maxAbs"] = float(np.max(np.abs(ref)))

        def encode():
            return model(input_ids=ids_cpu.to(dev)).last_hidden_state.cpu()

        for _ in range(3):
            encode()
        times = []
        for _ in range(args.runs):
            a = now()
            encode()
            times.append((now() - a) * 1000)
        bert.update(medianMs=statistics.median(times), minMs=min(times), runs=len(times))
        result["bert"] = bert
        save()
        if args.export_onnx:
            onnx = {}
            result["onnx"] = onnx
            cpu_model = model.to("cpu")

            class Encoder(torch.nn.Module):
                def __init__(self, m):
                    super().__init__()
                    self.m = m

                def forward(self, input_ids):
                    return self.m(input_ids=input_ids).last_hidden_state

            wrapped = Encoder(cpu_model).eval()
            a = time.perf_counter()
            errors = []
            for exporter in ("dynamo", "torchscript"):
                try:
                    with torch.no_grad():
                        if exporter == "dynamo":
                            torch.onnx.export(
                                wrapped, (ids_cpu,), args.export_onnx, input_names=["input_ids"],
                                output_names=["last_hidden_state"], dynamo=True,
                                external_data=False, optimize=True)
                        else:
                            torch.onnx.export(
                                wrapped, (ids_cpu,), args.export_onnx, input_names=["input_ids"],
                                output_names=["last_hidden_state"], dynamo=False, opset_version=17)
                    onnx.update(path=args.export_onnx, exporter=exporter,
                                seconds=time.perf_counter() - a)
                    break
                except Exception as e:  # noqa: BLE001 - recorded, then the next exporter
                    errors.append(f"{exporter}: {type(e).__name__}: {str(e)[:400]}")
            if "exporter" not in onnx:
                onnx["error"] = " | ".join(errors)
            elif errors:
                onnx["fallbackFrom"] = errors
        del model
    except Exception:
        result["errors"].append("encoder: " + traceback.format_exc()[-1500:])
    save()
    if dev == "cuda":
        torch.cuda.empty_cache()

    try:
        folder = os.path.join(args.work, "gpt2")
        prompt_list = json.load(open(os.path.join(folder, "prompt.json")))
        prompt_cpu = torch.tensor([prompt_list], dtype=torch.long)
        model = load(GPT2LMHeadModel, GPT2Config, folder, "")
        n = args.new_tokens

        def generate():
            """Greedy, n new tokens; returns (tokens, prefill s, decode s)."""
            a = now()
            out = model(input_ids=prompt_cpu.to(dev), use_cache=True)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            tokens = [nxt.item()]
            b = time.perf_counter()
            past = out.past_key_values
            for _ in range(n - 1):
                out = model(input_ids=nxt, past_key_values=past, use_cache=True)
                past = out.past_key_values
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
                tokens.append(nxt.item())
            c = time.perf_counter()
            return tokens, b - a, c - b

        t0 = now()
        model = model.to(dev)
        out = model(input_ids=prompt_cpu.to(dev), use_cache=True)
        out.logits[:, -1].argmax(-1).item()
        cold = (now() - t0) * 1000
        del out
        generate()
        runs = [generate() for _ in range(args.decode_runs)]
        tokens = runs[-1][0]
        gpt2 = {
            "coldMs": cold,
            "prefillMs": statistics.median(r[1] for r in runs) * 1000,
            "decodeTokS": statistics.median((n - 1) / r[2] for r in runs) if n > 1 else 0,
            "msPerToken": statistics.median(r[2] / (n - 1) for r in runs) * 1000 if n > 1 else 0,
            "tokens": tokens,
            "attention": getattr(model.config, "_attn_implementation", None),
        }
        ours_path = os.path.join(args.work, "ours-gpt2-tokens.json")
        if os.path.exists(ours_path):
            ours = json.load(open(ours_path))
            same = 0
            while same < min(len(ours), len(tokens)) and ours[same] == tokens[same]:
                same += 1
            gpt2["matchingTokens"] = same
        result["gpt2"] = gpt2
        del model
    except Exception:
        result["errors"].append("decoder: " + traceback.format_exc()[-1500:])
    save()

print(f"[torch] {result['device']} torch {torch.__version__}: "
      f"encoder {result.get('bert', {}).get('medianMs')} ms, "
      f"decode {result.get('gpt2', {}).get('decodeTokS')} tok/s, errors {len(result['errors'])}",
      file=sys.stderr)
