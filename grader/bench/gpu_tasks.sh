#!/usr/bin/env bash
# The GPU tasks (1.24, 3.2 with its speed threshold, 3.5-3.8) graded on a machine with an NVIDIA GPU:
# the reference must score full marks, a fresh skeleton zero. Run from the repository root:
#
#     bash grader/bench/gpu_tasks.sh OUT_DIR
#
# Writes OUT_DIR/{ref3,ref1,skel3,skel1}.{log,json}, OUT_DIR/speed.txt (Task 3.2's ratio) and OUT_DIR/env.txt. The grader picks its mode itself:
# sealed when bubblewrap starts a box, else practice (the logs' "Mode:" line says which).
set -u
out=${1:?usage: gpu_tasks.sh OUT_DIR}
mkdir -p "$out"
root=$PWD
export PYTHONUNBUFFERED=1
export PYTHONPATH=$root/level0_foundations/src:$root/level1_tensor/src:$root/level2_transformer/src:$root/level3_hpc/src:$root/level4_mastery/src:$root/grader/src${PYTHONPATH:+:$PYTHONPATH}
grade=(python3 -m hyperion_grader --root "$root" grade)
{
  date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import cupy, numpy; print("cupy", cupy.__version__, "numpy", numpy.__version__)'
  command -v bwrap || echo "no bwrap"; command -v ncu || echo "no ncu on PATH"
  git -C "$root" rev-parse HEAD 2>/dev/null || echo "commit: see the caller"
} >"$out/env.txt" 2>&1

level3=(--task 3.2 --task 3.5 --task 3.6 --task 3.7 --task 3.8)
timeout 240 "${grade[@]}" --level 3 --reference "${level3[@]}" --no-cache --json "$out/ref3.json" >"$out/ref3.log" 2>&1
timeout 60 "${grade[@]}" --level 1 --reference --task 1.24 --no-cache --json "$out/ref1.json" >"$out/ref1.log" 2>&1
# a fresh skeleton of each level (workspace/ under the root), graded on the same tasks
python3 -m hyperion_grader --root "$root" start --level 3 --force >/dev/null
python3 -m hyperion_grader --root "$root" start --level 1 --force >/dev/null
timeout 60 "${grade[@]}" --level 3 "${level3[@]}" --json "$out/skel3.json" >"$out/skel3.log" 2>&1
timeout 60 "${grade[@]}" --level 1 --task 1.24 --json "$out/skel1.json" >"$out/skel1.log" 2>&1
# the ratio behind Task 3.2's threshold, printed (a passing check prints nothing): median of 7 interleaved rounds
timeout 60 python3 - >"$out/speed.txt" 2>&1 <<'PY'
import statistics
import cupy
import numpy as np
from hyperion.kernels.matmul import matmul
n = 4096
rng = cupy.random.default_rng(0)
a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
c = cupy.empty((n, n), np.float32)
runs = {"cublas": lambda: cupy.matmul(a, b, out=c)}
runs.update({v: (lambda v=v: matmul(a, b, v, out=c)) for v in ("02_coalesced", "03_smem_tiling")})
start, stop = cupy.cuda.Event(), cupy.cuda.Event()
times = {k: [] for k in runs}
for _ in range(8):
    for k, run in runs.items():
        start.record(); run(); stop.record(); stop.synchronize()
        times[k].append(cupy.cuda.get_elapsed_time(start, stop))
ms = {k: statistics.median(t[1:]) for k, t in times.items()}
for k, t in ms.items():
    print(f"{k:16s} {t:8.3f} ms  {100 * ms['cublas'] / t:5.1f} % of cuBLAS")
PY
tail -n 30 "$out"/*.log "$out/speed.txt"
