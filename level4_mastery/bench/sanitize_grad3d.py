"""Small CUDA gradient runs for ``compute-sanitizer``: every adjoint3d.cu kernel, both methods, 40³ x 12 steps."""

import sys

import numpy as np

from hyperion.physics import engines3d, grad3d
from hyperion.physics.bench_grad3d import scene

kernels = [int(k) for k in (sys.argv[1] if len(sys.argv) > 1 else "8,6,4").split(",")]
problem = scene(40, 12)
eps = 1.0 + np.random.default_rng(0).random(problem.interior_shape)
for kernel in kernels:
    engines3d.CudaEngine.kernel = kernel
    for method in grad3d.METHODS:
        g = grad3d.gradient(problem, eps, np.ones((1, 4)), "cuda", method)
        print(f"kernel {kernel} {method}: finite {bool(np.isfinite(g).all())}, max |g| {np.abs(g).max():.3e}")
