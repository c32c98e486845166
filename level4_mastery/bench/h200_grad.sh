#!/usr/bin/env bash
# One short device call for the 3D gradients only: the CUDA oracle tests (every adjoint3d.cu kernel), the
# 256^3 x 1000 gradient timings for KERNELS (default 8,6,7,4: every run warmed once untimed, then REPEATS interleaved
# rounds, medians, forward and backward parts apart), the per-step profile of each kernel, memcheck on small runs of
# SANITIZE (default 8,6).
# Run from the repo root (it puts the levels' src folders on PYTHONPATH). Writes 7 files to $OUT.
set -u
export PYTHONPATH=$PWD/level0_foundations/src:$PWD/level1_tensor/src:$PWD/level2_transformer/src:$PWD/level3_hpc/src:$PWD/level4_mastery/src${PYTHONPATH:+:$PYTHONPATH}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
KERNELS=${KERNELS:-8,6,7,4}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
(cat COMMIT 2>/dev/null || git rev-parse HEAD) | tee "$OUT/commit.txt"
timeout 90 python3 -m pytest -q -p no:cacheprovider level4_mastery/tests/test_physics_gradients3d.py \
    -k "cuda and not on_the_cpu" 2>&1 | tail -8 | tee "$OUT/pytest_cuda.txt"
timeout 240 python3 -m hyperion.physics.bench_grad3d --size 256 --steps 1000 --kernels "$KERNELS" \
    --repeats "${REPEATS:-3}" --json "$OUT/grad3d.json" 2>&1 | tail -14 | tee "$OUT/grad3d.txt"
timeout 60 python3 level4_mastery/bench/profile_adjoint.py 256 "$KERNELS" 2>&1 | tail -6 | tee "$OUT/profile.txt"
timeout 120 compute-sanitizer --tool memcheck --print-limit 20 python3 level4_mastery/bench/sanitize_grad3d.py \
    "${SANITIZE:-8,6}" 2>&1 | tail -8 | tee "$OUT/sanitizer.txt"
