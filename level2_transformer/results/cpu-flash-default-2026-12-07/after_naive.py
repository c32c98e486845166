# ruff: noqa
"""Time flash (numba) and SDPA at N = 1024 alone, then call by call after one naive attention call (2 cores)."""
import time, numpy as np
from hyperion.transformer.flash import numba_cpu as F
from hyperion.transformer.flash.naive import naive_attention_forward
rng=np.random.default_rng(0)
q,k,v=(rng.standard_normal((1,4,1024,64)).astype(np.float32) for _ in range(3))
def one(f):
    a=time.perf_counter(); f(); return round((time.perf_counter()-a)*1e3,1)
fl=lambda: F.flash_forward(q,k,v)
print("flash alone", [one(fl) for _ in range(6)])
naive_attention_forward(q,k,v)
print("after naive", [one(fl) for _ in range(12)])
time.sleep(1)
print("after 1 s", [one(fl) for _ in range(6)])
import torch
tq,tk,tv=(torch.from_numpy(x) for x in (q,k,v))
sd=lambda: torch.nn.functional.scaled_dot_product_attention(tq,tk,tv)
sd(); time.sleep(0.5)
print("sdpa alone", [one(sd) for _ in range(6)])
naive_attention_forward(q,k,v)
print("sdpa after naive", [one(sd) for _ in range(16)])
time.sleep(0.5)
naive_attention_forward(q,k,v); time.sleep(0.25)
print("flash after naive + 0.25 s", [one(fl) for _ in range(6)])
