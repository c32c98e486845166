#!/usr/bin/env bash
# 2-core CPU, side by side in one run: our numba backend and fdtdx on XLA CPU, the issue's scene at 100^3.
# FDTDX_PYTHON: a python with jax + fdtdx installed (not a dependency of this project).
set -u
N=${N:-100}; STEPS=${STEPS:-100}
for round in 1 2; do
    python -c "from hyperion.physics.bench import throughput; print(f'round $round: numba fp32 ${N}^3 x ${STEPS}: {throughput(\"numba\", $N, $STEPS):.1f} Mcells/s')"
    XLA_FLAGS=--xla_force_host_platform_device_count=1 "$FDTDX_PYTHON" "$(dirname "$0")/fdtdx_scene.py" "$N" "$STEPS" cpu 2>&1 | grep -v Warning | tail -1
done
