"""Trains the demo's text generator: a small GPT-2 (transformers GPT2LMHeadModel) with its own
byte-level BPE tokenizer (4,096 tokens, trained here with `tokenizers`) on the King James Bible
(public domain; tools/train/fetch-kjv.mjs extracts it from Debian's bible-kjv-text).

    python3 tools/train/train_gpt2.py [--out tools/demo/models/kjv-gpt2] [--steps 3000]

Every 20th chapter is held out for the validation loss. Weights are saved in f16 (half the
bytes; tabpool widens them to f32 exactly), and the references the demo checks are computed
from the saved files loaded back in f32 on the CPU: greedy continuations of a few prompts and
the cosine similarities of mean-pooled final hidden states for a few sentences (what tabpool's
`embed` returns for this model). Deterministic: seeded, deterministic algorithms, eager attention.
"""
import argparse
import hashlib
import json
import math
import os
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the BPE trainer: one thread, one merge order

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CORPUS = os.path.join(ROOT, "tools/train/data/kjv.txt")
EOS = "<|endoftext|>"
PROMPTS = ["In the beginning", "And the LORD said unto Moses,", "Blessed are the"]
SENTENCES = [
    "The LORD is my shepherd; I shall not want.",
    "The LORD is my light and my salvation.",
    "And Pharaoh made ready his chariot, and took his people with him.",
    "And the king of Egypt gathered his horsemen and his army.",
    "Love your enemies, bless them that curse you.",
    "Bless them which persecute you: bless, and curse not.",
]


def train_tokenizer(chapters, vocab):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab, special_tokens=[EOS], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(chapters, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOS, eos_token=EOS, pad_token=EOS, unk_token=None,
        model_max_length=256,
    )


def stream(tokenizer, chapters):
    eos = tokenizer.convert_tokens_to_ids(EOS)
    ids = []
    for c in chapters:
        ids.extend(tokenizer(c)["input_ids"])
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


@torch.no_grad()
def val_loss(model, data, seq, device, windows=64):
    model.eval()
    starts = torch.linspace(0, len(data) - seq - 2, windows).long()
    x = torch.stack([data[s : s + seq + 1] for s in starts]).to(device)
    logits = model(input_ids=x[:, :-1]).logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tools/demo/models/kjv-gpt2"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--vocab", type=int, default=4096)
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    chapters = open(CORPUS, encoding="utf-8").read().strip().split("\n\n")
    val_chapters = chapters[::20]
    train_chapters = [c for i, c in enumerate(chapters) if i % 20 != 0]

    started = time.time()
    tokenizer = train_tokenizer(train_chapters, args.vocab)
    train_ids, val_ids = stream(tokenizer, train_chapters), stream(tokenizer, val_chapters)
    corpus_bytes = sum(len(c.encode()) for c in chapters)
    print(f"gpt2: corpus {len(chapters)} chapters, {corpus_bytes} bytes; tokenizer {len(tokenizer)} tokens "
          f"in {time.time() - started:.1f} s; {len(train_ids)} train / {len(val_ids)} val tokens "
          f"({corpus_bytes / (len(train_ids) + len(val_ids)):.2f} bytes per token)")

    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=args.seq, n_embd=128, n_layer=6, n_head=4,
        bos_token_id=eos, eos_token_id=eos, pad_token_id=eos, tie_word_embeddings=True,
        attn_implementation="eager",
    )
    model = GPT2LMHeadModel(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95),
    )
    warmup = 150
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1, (s + 1) / warmup) * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1, s / args.steps))))
    )
    g = torch.Generator().manual_seed(1)
    data = train_ids.to(device)
    offsets = torch.arange(args.seq + 1, device=device)
    started = time.time()
    for step in range(1, args.steps + 1):
        model.train()
        starts = torch.randint(0, len(data) - args.seq - 1, (args.batch,), generator=g).to(device)
        x = data[starts[:, None] + offsets]
        logits = model(input_ids=x[:, :-1]).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0 or step == args.steps:
            vl = val_loss(model, val_ids, args.seq, device)
            print(f"  step {step:5d}  train loss {loss.item():.3f}  val loss {vl:.3f}  {time.time() - started:.1f} s")
    train_seconds = time.time() - started
    final_train_loss = loss.item()

    os.makedirs(args.out, exist_ok=True)
    model.cpu().eval().to(torch.float16).save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    GenerationConfig(bos_token_id=eos, eos_token_id=eos, pad_token_id=eos).save_pretrained(args.out)

    # References from the saved files, loaded back in f32 on the CPU (f16 → f32 is exact).
    loaded = GPT2LMHeadModel.from_pretrained(args.out, dtype=torch.float32, attn_implementation="eager").eval()
    tok = PreTrainedTokenizerFast.from_pretrained(args.out)
    vl = val_loss(loaded, val_ids, args.seq, "cpu")
    greedy = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tok(prompt, return_tensors="pt")["input_ids"]
            out = loaded.generate(ids, max_new_tokens=40, do_sample=False, output_scores=True,
                                  return_dict_in_generate=True, pad_token_id=eos)
            new = out.sequences[0, ids.shape[1]:].tolist()
            margins = [float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in out.scores]
            text = tok.decode(new, skip_special_tokens=True)
            greedy.append({"prompt": prompt, "prompt_ids": ids[0].tolist(), "new_ids": new,
                           "text": text, "min_top2_logit_margin": min(margins)})
            print(f"  greedy {prompt!r} → {text!r} (min top-2 margin {min(margins):.3g})")
        embeds = []
        for s in SENTENCES:
            ids = tok(s, return_tensors="pt")["input_ids"]
            h = loaded.transformer(input_ids=ids).last_hidden_state[0].mean(0)
            embeds.append(h / h.norm())
        e = torch.stack(embeds)
        sim = (e @ e.T).tolist()
        # The same after taking out what all of them share (mean-pooled states of a small causal
        # LM point in much the same direction), as the demo page shows it.
        c = e - e.mean(0)
        c = c / c.norm(dim=1, keepdim=True)
        centered = (c @ c.T).tolist()
    weights = os.path.join(args.out, "model.safetensors")
    result = {
        "model": "GPT2LMHeadModel", "params": params, "stored_dtype": "float16",
        "weights_bytes": os.path.getsize(weights),
        "weights_sha256": hashlib.sha256(open(weights, "rb").read()).hexdigest(),
        "tokenizer_sha256": hashlib.sha256(open(os.path.join(args.out, "tokenizer.json"), "rb").read()).hexdigest(),
        "corpus": "King James Version (1611), Debian bible-kjv-text 4.38; public domain",
        "corpus_bytes": corpus_bytes, "train_tokens": len(train_ids), "val_tokens": len(val_ids),
        "vocab": len(tokenizer), "steps": args.steps, "batch": args.batch, "seq": args.seq,
        "train_seconds": round(train_seconds, 1), "final_train_loss": final_train_loss,
        "val_loss": vl, "val_perplexity": math.exp(vl),
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__,
        "evaluated": "from_pretrained(saved f16 files) as float32, CPU, eager attention",
        "greedy": greedy,
        "similarity": {"sentences": SENTENCES, "pooling": "mean of last_hidden_state, unit length",
                       "cosine": sim, "centered_cosine": centered},
    }
    with open(os.path.join(args.out, "eval.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"gpt2: {params} params, {result['weights_bytes']} bytes of f16 weights, {args.steps} steps in "
          f"{train_seconds:.1f} s; val loss {vl:.3f} (perplexity {math.exp(vl):.1f}) from the saved files")
    for s, row, crow in zip(SENTENCES, sim, centered):
        print("  " + " ".join(f"{v:5.2f}" for v in row) + "  |" + " ".join(f"{v:5.2f}" for v in crow) + f"  {s}")


if __name__ == "__main__":
    main()
