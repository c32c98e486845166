#!/usr/bin/env bash
# One short device call for the 3D gradients only: the CUDA oracle tests (every adjoint3d.cu kernel), the 256^3 x 1000
# gradient timings for KERNELS (default 5,4), the per-step profile of each kernel, memcheck on small runs.
# Run from the repo root with PYTHONPATH set to the levels' src folders.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
KERNELS=${KERNELS:-4}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
(cat COMMIT 2>/dev/null || git rev-parse HEAD) | tee "$OUT/commit.txt"
timeout 60 python3 -m pytest -q -p no:cacheprovider level4_mastery/tests/test_physics_gradients3d.py \
    -k "cuda and not on_the_cpu" 2>&1 | tail -8 | tee "$OUT/pytest_cuda.txt"
timeout 60 python3 -m hyperion.physics.bench_grad3d --size 256 --steps 1000 --kernels "$KERNELS" \
    --json "$OUT/grad3d.json" 2>&1 | tail -12 | tee "$OUT/grad3d.txt"
timeout 30 python3 level4_mastery/bench/profile_adjoint.py 256 "$KERNELS,1" 2>&1 | tail -6 | tee "$OUT/profile.txt"
timeout 40 compute-sanitizer --tool memcheck --print-limit 20 python3 level4_mastery/bench/sanitize_grad3d.py "$KERNELS" \
    2>&1 | tail -8 | tee "$OUT/sanitizer.txt"
