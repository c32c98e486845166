# ruff: noqa  (as run)
import time, numpy as np
from numba import njit
from hyperion.transformer.flash.blas_threads import blas_single_threaded
@njit(cache=False)
def qk(a, b, c, reps):
    for _ in range(reps):
        np.dot(a, b.T, c)
@njit(cache=False)
def pv(a, b, c, reps):
    for _ in range(reps):
        np.dot(a, b, c)
rng = np.random.default_rng(0)
with blas_single_threaded():
  for Br, Bc, d in ((256,256,64),(128,128,64),(512,512,64),(256,512,64),(512,256,64),(256,256,128)):
    q = rng.standard_normal((Br,d)).astype(np.float32); k = rng.standard_normal((Bc,d)).astype(np.float32)
    s = np.empty((Br,Bc),np.float32); v = rng.standard_normal((Bc,d)).astype(np.float32); o = np.empty((Br,d),np.float32)
    qk(q,k,s,1); pv(s,v,o,1)
    reps = max(1, int(2e9 / (2*Br*Bc*d)))
    r = {}
    for name, f, args in (("qk", qk, (q,k,s)), ("pv", pv, (s,v,o))):
        ts=[]
        for _ in range(5):
            t=time.perf_counter(); f(*args, reps); ts.append(time.perf_counter()-t)
        r[name] = 2*Br*Bc*d*reps/min(ts)/1e9
    print(Br, Bc, d, " ".join(f"{k} {v:.0f} GFLOP/s" for k,v in r.items()))
