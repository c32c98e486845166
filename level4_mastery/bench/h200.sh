#!/usr/bin/env bash
# One device call: CUDA tests (small grids vs the CPU oracle), forward 256^3/384^3, 3D gradients at 256^3 x 1000
# (adjoint3d.cu KERNELS, default 8,6,4: each run warmed untimed, then 3 interleaved rounds, medians), the per-step
# profile, compute-sanitizer on small gradient runs of the first kernel, fdtdx's scene beside at FDTDX_SIZES (default
# 256 384). It writes 10 files to $OUT: for the gradients alone use h200_grad.sh (7 files).
# Run from the repo root with PYTHONPATH set to the levels' src folders; WHL = folder of carried fdtdx wheels.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
(cat COMMIT 2>/dev/null || git rev-parse HEAD) | tee "$OUT/commit.txt"
KERNELS=${KERNELS:-8,6,4}
timeout 150 python3 -m pytest -q -p no:cacheprovider level4_mastery/tests/test_physics_gradients3d.py \
    level4_mastery/tests/test_physics_backends.py -k "cuda and not nvcc and not on_the_cpu" 2>&1 | tail -8 | tee "$OUT/pytest_cuda.txt"
timeout 60 python3 -m hyperion.physics.bench --gpu --skip-cpu --json "$OUT/forward.json" 2>&1 | tail -14 | tee "$OUT/forward.txt"
timeout 240 python3 -m hyperion.physics.bench_grad3d --size 256 --steps 1000 --kernels "$KERNELS" --json "$OUT/grad3d.json" 2>&1 | tail -14 | tee "$OUT/grad3d.txt"
timeout 60 python3 level4_mastery/bench/profile_adjoint.py 256 "$KERNELS" 2>&1 | tail -6 | tee "$OUT/profile.txt"
timeout 60 compute-sanitizer --tool memcheck --print-limit 20 python3 level4_mastery/bench/sanitize_grad3d.py "${KERNELS%%,*}" 2>&1 | tail -8 | tee "$OUT/sanitizer.txt"
if [ -n "${WHL:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$WHL"/*.whl 2>&1 | tail -2
    for n in ${FDTDX_SIZES:-256 384}; do
        XLA_PYTHON_CLIENT_PREALLOCATE=false FDTDX_TIDY3D_STUB="$WHL/stubs" PYTHONPATH=/tmp/site:$WHL/site:$PYTHONPATH \
            timeout 60 python3 level4_mastery/bench/fdtdx_scene.py $n 1000 gpu 2>&1 | grep -v Warning | tail -3 | tee -a "$OUT/fdtdx.txt"
    done
fi
