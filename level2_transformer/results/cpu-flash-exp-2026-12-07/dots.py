# ruff: noqa  (as run)
import time, numpy as np
from numba import njit, prange, get_thread_id, config
from hyperion.transformer.flash.blas_threads import blas_single_threaded
from hyperion.transformer.flash.numba_cpu import to_blocks

@njit(parallel=True, cache=False)
def dots(q, k, v, out, s, pv):
    bh_count, n_qb = q.shape[0], q.shape[1]
    for item in prange(bh_count * n_qb):
        bh = item % bh_count; i = item // bh_count
        t = get_thread_id()
        for j in range(k.shape[1]):
            np.dot(q[bh, i], k[bh, j].T, s[t])
            np.dot(s[t], v[bh, j], pv[t])
            out[bh, i] += pv[t]

rng = np.random.default_rng(0)
for N in (1024, 4096):
    q,k,v = (to_blocks(rng.standard_normal((1,4,N,64)).astype(np.float32)) for _ in range(3))
    th = config.NUMBA_NUM_THREADS
    s = np.empty((th,256,256),np.float32); pv = np.empty((th,256,64),np.float32); out = np.zeros_like(q)
    with blas_single_threaded():
        dots(q,k,v,out,s,pv)
        ts=[]
        for _ in range(5):
            t=time.perf_counter(); dots(q,k,v,out,s,pv); ts.append(time.perf_counter()-t)
    fl = 4*4*N*N*64
    print(N, f"{min(ts)*1e3:.2f} ms, {fl/min(ts)/1e9:.0f} GFLOP/s")
