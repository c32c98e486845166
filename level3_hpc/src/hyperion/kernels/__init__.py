"""Hand-written CUDA kernels, one folder per family, one numbered ``.cu`` file per version.

``matmul/01_naive.cu`` ... ``matmul/11_mma_pipelined.cu``, ``softmax/``, ``layernorm/``, ``fused/`` and the
``demo/`` kernels that isolate one hardware effect each. :mod:`hyperion.kernels.loader` compiles a source
with CuPy's ``RawModule`` (NVRTC) and caches it; each family's ``__init__`` has the Python launchers.
"""
