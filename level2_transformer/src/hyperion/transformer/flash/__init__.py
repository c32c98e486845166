"""FlashAttention, from the naive N×N baseline to CUDA kernels (one file per idea, read in this order).

``naive``        the reference: materialise the scores, softmax, matmul (numpy or CuPy)
``tiled_numpy``  FlashAttention-2 in numpy blocks: tiles, online softmax, LSE-based backward
``numba_cpu``    the same, compiled with numba: parallel over heads, no N² memory
``blas_threads`` one OpenBLAS thread inside numba's parallel region (no nested threading)
``cuda``         the ``kernels/*.cu`` files, loaded with CuPy RawModule
``function``     :func:`flash_attention` on Hyperion Tensors, with autograd
``bench``        ``python -m hyperion.transformer.flash.bench``: time and memory against naive and PyTorch
``bench_gpu``    its GPU half: three naive baselines (ours, CuPy/cuBLAS, PyTorch), SDPA, every kernel
``repro``        ``nox -s repro-flash``: the paper's claims (speed, memory, IO, exactness) re-measured
"""

from hyperion.transformer.flash.function import FlashAttention, flash_attention

__all__ = ["FlashAttention", "flash_attention"]
