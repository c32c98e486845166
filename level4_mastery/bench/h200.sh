#!/usr/bin/env bash
# One device call: CUDA tests, forward 256^3/384^3, 3D gradients at 256^3 x 1000, fdtdx's scene beside them.
# Run from the repo root with PYTHONPATH set to the levels' src folders; WHL = folder of carried fdtdx wheels.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
(cat COMMIT 2>/dev/null || git rev-parse HEAD) | tee "$OUT/commit.txt"
timeout 120 python3 -m pytest -q -p no:cacheprovider level4_mastery/tests/test_physics_gradients3d.py \
    level4_mastery/tests/test_physics_backends.py -k "cuda and not nvcc" 2>&1 | tail -5 | tee "$OUT/pytest_cuda.txt"
timeout 60 python3 -m hyperion.physics.bench --gpu --skip-cpu --json "$OUT/forward.json" 2>&1 | tail -14 | tee "$OUT/forward.txt"
timeout 120 python3 -m hyperion.physics.bench_grad3d --size 256 --steps 1000 --kernel1 --json "$OUT/grad3d.json" 2>&1 | tail -11 | tee "$OUT/grad3d.txt"
if [ -n "${WHL:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$WHL"/*.whl 2>&1 | tail -2
    for n in 256 384; do
        XLA_PYTHON_CLIENT_PREALLOCATE=false FDTDX_TIDY3D_STUB="$WHL/stubs" PYTHONPATH=/tmp/site:$WHL/site:$PYTHONPATH \
            timeout 110 python3 level4_mastery/bench/fdtdx_scene.py $n 1000 gpu 2>&1 | grep -v Warning | tail -3 | tee -a "$OUT/fdtdx.txt"
    done
fi
