#!/usr/bin/env bash
# 2-core CPU, side by side in one run: our numba backend and fdtdx on XLA CPU, the issue's scene at 100^3,
# interleaved for ROUNDS rounds (the machine may be shared: the medians are the figures to read).
# FDTDX_PYTHON: a python with jax + fdtdx installed (not a dependency of this project). No threading env is set.
set -u
N=${N:-100}; STEPS=${STEPS:-100}; ROUNDS=${ROUNDS:-5}
ours=(); theirs=()
for round in $(seq "$ROUNDS"); do
    line=$(python -c "from hyperion.physics.bench import throughput; print(f'round $round: numba fp32 ${N}^3 x ${STEPS}: {throughput(\"numba\", $N, $STEPS):.1f} Mcells/s')")
    echo "$line"; ours+=("$(echo "$line" | awk '{print $(NF-1)}')")
    line=$("$FDTDX_PYTHON" "$(dirname "$0")/fdtdx_scene.py" "$N" "$STEPS" cpu 2>&1 | grep -v Warning | tail -1)
    echo "$line"; theirs+=("$(echo "$line" | sed -E 's/.*-> ([0-9.]+) Mcells.*/\1/')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
m_ours=$(median "${ours[@]}"); m_theirs=$(median "${theirs[@]}")
echo "median of $ROUNDS: numba $m_ours Mcells/s, fdtdx $m_theirs Mcells/s, ratio $(awk "BEGIN {printf \"%.2f\", $m_ours / $m_theirs}")"
