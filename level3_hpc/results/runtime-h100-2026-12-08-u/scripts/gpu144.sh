#!/bin/bash
# Twenty-fifth session, call 1 (little device time left): the GPU tests of the launchers this session changed
# (cupy_module instead of per-call imports; OutputBlock), then host time before / after, in turns, then the pieces.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/before-d777e98
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
T=level3_hpc/tests
PYTHONPATH=$NEW timeout 170 python3 -m pytest -q -p no:cacheprovider $T/test_flash_planned_gpu.py $T/test_rows_gpu.py $T/test_fused_gpu.py $T/test_backend_gpu.py $T/test_allocator_gpu.py $T/test_matmul_3xtf32_gpu.py $T/test_cuda_graph_gpu.py level2_transformer/tests/test_flash_cuda.py $T/test_matmul_gpu.py > $OUT/gpu_tests.txt 2>&1; echo "gpu tests rc=$? $((SECONDS-S)) s"; grep -E "passed|failed|FAILED|Error" $OUT/gpu_tests.txt | tail -12
for i in 1 2; do
  PYTHONPATH=$OLD timeout 60 python3 .device/host_ab.py $OUT/host_before_$i.json > $OUT/host_before_$i.txt 2>&1; echo "before $i rc=$? $((SECONDS-S)) s"
  PYTHONPATH=$NEW timeout 40 python3 .device/host_ab.py $OUT/host_after_$i.json > $OUT/host_after_$i.txt 2>&1; echo "after $i rc=$? $((SECONDS-S)) s"
done
python3 - <<'PY'
import json, os
out = os.environ["OUT"]
runs = {}
for tag in ("before_1", "after_1", "before_2", "after_2"):
    try:
        runs[tag] = {r["call"]: r["host_us"] for r in json.load(open(f"{out}/host_{tag}.json"))}
    except Exception as e:
        print(tag, "missing", e)
print(" | ".join(runs), "| call")
names = list(next(iter(runs.values())).keys()) if runs else []
for n in names:
    cells = [runs[t].get(n) for t in runs]
    print(" | ".join(f"{c:6.1f}" if isinstance(c, float) else str(c)[:20] for c in cells), "|", n)
PY
PYTHONPATH=$NEW timeout 40 python3 .device/host_parts.py $OUT/host_parts.json > $OUT/host_parts.txt 2>&1; echo "host_parts rc=$? $((SECONDS-S)) s"
cut -c1-150 $OUT/host_parts.txt | tail -64
