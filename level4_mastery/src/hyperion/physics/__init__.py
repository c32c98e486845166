"""Differentiable physics on Hyperion: an FDTD solver with CPML, on numpy, numba and CUDA."""
