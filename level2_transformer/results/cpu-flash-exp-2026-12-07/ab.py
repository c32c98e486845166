# ruff: noqa  (as run)
import sys, time, importlib.util, numpy as np, torch
sys.path.insert(0, "/tmp/cpuf")
import numba_cpu_old as old
from hyperion.transformer.flash import numba_cpu as new
rng = np.random.default_rng(0)
def best(f, n=5):
    ts=[]
    for _ in range(n):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return min(ts)*1e3
BWD = "bwd" in sys.argv
for N in (1024, 2048, 4096):
    q,k,v,do = (rng.standard_normal((1,4,N,64)).astype(np.float32) for _ in range(4))
    tq,tk,tv = (torch.from_numpy(x) for x in (q,k,v))
    o1, l1 = old.flash_forward(q,k,v); o2, l2 = new.flash_forward(q,k,v)
    print("fwd max diff", np.abs(o1-o2).max(), np.abs(l1-l2).max())
    if BWD:
        g1 = old.flash_backward(q,k,v,o1,l1,do); g2 = new.flash_backward(q,k,v,o2,l2,do)
        print("bwd max diff", max(np.abs(a-b).max() for a,b in zip(g1,g2)))
        fo = lambda: old.flash_backward(q,k,v,o1,l1,do); fn = lambda: new.flash_backward(q,k,v,o1,l1,do)
    else:
        fo = lambda: old.flash_forward(q,k,v); fn = lambda: new.flash_forward(q,k,v)
    s = lambda: torch.nn.functional.scaled_dot_product_attention(tq,tk,tv)
    res = {"old":[], "new":[], "sdpa":[]}
    for r in range(4):
        for name, f in [("old", fo), ("new", fn), ("sdpa", s)][r % 3:] + [("old", fo), ("new", fn), ("sdpa", s)][:r % 3]:
            f(); res[name].append(best(f))
    print(N, " ".join(f"{k} {min(v):.2f}" for k, v in res.items()), f"old/new {min(res['old'])/min(res['new']):.3f} new/sdpa {min(res['new'])/min(res['sdpa']):.2f}", flush=True)
