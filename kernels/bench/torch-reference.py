"""PyTorch side of `npm run bench:kernels -- --full` on the H100: the same shapes, printed as
JSON {label: GFLOPS or GB/s} for TABPOOL_BENCH_BASELINE. fp32 with TF32 off (the issue's
target), attention through scaled_dot_product_attention's math backend in fp32."""
import json
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"


def bench(fn, budget_ms=400.0):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    n, ms = 1, 0.0
    while True:
        start.record()
        for _ in range(n):
            fn()
        end.record()
        torch.cuda.synchronize()
        ms = start.elapsed_time(end)
        if ms >= budget_ms or n >= 4096:
            return ms / n
        n *= 2


out = {}
for label, (m, k, n), act, trans_b in [
    ("matmul 4096x4096x4096", (4096, 4096, 4096), None, False),
    ("matmul 2048x768x3072 +gelu (BERT FFN)", (2048, 768, 3072), "gelu", False),
    ("matmul 2048x4096x4096 transB (Linear)", (2048, 4096, 4096), None, True),
    ("matmul 1x4096x4096 (decode GEMV)", (1, 4096, 4096), None, False),
    ("matmul 1x4096x4096 transB (decode Linear)", (1, 4096, 4096), None, True),
]:
    a = torch.rand(m, k, device=dev) * 2 - 1
    b = torch.rand(n, k, device=dev) if trans_b else torch.rand(k, n, device=dev)
    fn = (lambda: F.gelu(a @ b)) if act else ((lambda: a @ b.t()) if trans_b else (lambda: a @ b))
    out[label] = 2 * m * n * k / bench(fn) / 1e6

# fp16 (tensor cores, fp32 accumulation in cuBLAS) for the f16 rows: the same shapes, keyed
# "f16 <shape>" as our f16 rows' baseKey.
for label, (m, k, n), act, trans_b in [
    ("matmul 4096x4096x4096", (4096, 4096, 4096), None, False),
    ("matmul 2048x768x3072 +gelu (BERT FFN)", (2048, 768, 3072), "gelu", False),
    ("matmul 2048x4096x4096 transB (Linear)", (2048, 4096, 4096), None, True),
]:
    a = (torch.rand(m, k, device=dev) * 2 - 1).half()
    b = (torch.rand(n, k, device=dev) if trans_b else torch.rand(k, n, device=dev)).half()
    fn = (lambda: F.gelu(a @ b)) if act else ((lambda: a @ b.t()) if trans_b else (lambda: a @ b))
    out["f16 " + label] = 2 * m * n * k / bench(fn) / 1e6

with sdpa_kernel(SDPBackend.MATH):
    for label, qs, ks, causal in [
        ("attention b1 h12 s2048 d64", (1, 12, 2048, 64), (1, 12, 2048, 64), False),
        ("attention b1 h12 s2048 d64 causal", (1, 12, 2048, 64), (1, 12, 2048, 64), True),
        ("attention decode h32/8 kv2048 d128", (1, 32, 1, 128), (1, 8, 2048, 128), True),
    ]:
        q = torch.rand(*qs, device=dev)
        k = torch.rand(*ks, device=dev)
        v = torch.rand(*ks, device=dev)
        gqa = qs[1] != ks[1]
        # A one-token query with a cache sees every key: is_causal would mask from the top-left.
        is_causal = causal and qs[2] == ks[2]
        fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=is_causal, enable_gqa=gqa)
        out[label] = 4 * qs[1] * qs[2] * ks[2] * qs[3] / bench(fn) / 1e6

x = torch.rand(24576, 2048, device=dev)
out["softmax 24576x2048"] = 2 * 4 * x.numel() / bench(lambda: torch.softmax(x, -1)) / 1e6
out["unary identity 24576x2048 (copy bound)"] = 2 * 4 * x.numel() / bench(lambda: x.clone()) / 1e6
y = torch.rand(8192, 768, device=dev)
ln = torch.nn.LayerNorm(768, device=dev)
with torch.no_grad():
    out["layerNorm 8192x768"] = 2 * 4 * y.numel() / bench(lambda: ln(y)) / 1e6

print(torch.cuda.get_device_name(), torch.__version__, file=sys.stderr)
print(json.dumps(out))
