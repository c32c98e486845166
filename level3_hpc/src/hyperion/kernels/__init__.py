"""Hand-written CUDA kernels, one folder per family, one numbered ``.cu`` file per version.

``matmul/01_naive.cu`` ... ``matmul/12_wgmma.cu``, ``softmax/``, ``layernorm/``, ``fused/`` and the
``demo/`` kernels that isolate one hardware effect each. :mod:`hyperion.kernels.loader` compiles a source
with CuPy's ``RawModule`` (NVRTC) and caches it (``matmul/sm90a.py`` builds the ``sm_90a``-only wgmma
kernel with nvcc); each family's ``__init__`` has the Python launchers. ``conv_cpu/`` is the CPU family:
level 1's convolution, max pooling and ReLU with their memory-bound work compiled by numba.
"""
