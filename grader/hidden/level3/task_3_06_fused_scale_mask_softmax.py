"""Task 3.6: the fused scale + causal mask + softmax kernel (fused/scale_mask_softmax.cu) over BH x T x T
attention scores, causal and not, for T that is and is not a multiple of the block (and T = 1). The judge
computes softmax(scale * S + mask) in float64 from the same inputs (drawn again from the seed); masked
entries must be exactly 0."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.6"
TITLE = "Fused scale-mask-softmax (CUDA)"
POINTS = 8
TIMEOUT = 180
MEMORY_MB = None
CASES = [(2, 1, True), (3, 17, True), (2, 64, False), (1, 300, True), (4, 257, False)]  # (BH, T, causal)
SCALE = 0.125


def _scores(BH, T, i):
    import numpy as np

    return (np.random.default_rng(3600 + i).standard_normal((BH, T, T)) * 4).astype(np.float32)


@probe(reference=False)
def fused_softmax():
    from hyperion.kernels.loader import read_source

    read_source("fused/scale_mask_softmax.cu")  # a skeleton stub raises NotImplementedError here
    allow_cuda_import()
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    import cupy

    from hyperion.kernels.fused import scale_mask_softmax

    out = {"gpu": True}
    for i, (BH, T, causal) in enumerate(CASES):
        out[f"p{i}"] = cupy.asnumpy(scale_mask_softmax(cupy.asarray(_scores(BH, T, i)), SCALE, causal=causal))
    return out


def check_fused_softmax(sub, ref):
    import numpy as np

    from hyperion_grader.hidden import assert_close, assert_true

    assert_ran_on_gpu(sub)
    for i, (BH, T, causal) in enumerate(CASES):
        s = _scores(BH, T, i).astype(np.float64) * SCALE
        masked = np.triu(np.ones((T, T), bool), 1) if causal else np.zeros((T, T), bool)
        s = np.where(masked, -np.inf, s)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        want = e / e.sum(axis=-1, keepdims=True)
        got = sub[f"p{i}"]
        what = f"scale_mask_softmax of {BH}x{T}x{T} (causal={causal})"
        assert_true(bool(np.all(got[:, masked] == 0)), f"{what}: masked entries (j > i) must be exactly 0")
        assert_close(got, want, rtol=1e-5, atol=1e-6, name=what)
