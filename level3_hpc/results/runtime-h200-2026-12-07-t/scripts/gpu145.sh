#!/bin/bash
# Twenty-fifth session, last device time: the GPU tests of the launchers this session changed, then one round of
# host time before / after.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/before-d777e98
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
T=level3_hpc/tests
PYTHONPATH=$NEW timeout 130 python3 -m pytest -q -p no:cacheprovider $T/test_flash_planned_gpu.py $T/test_rows_gpu.py $T/test_fused_gpu.py $T/test_backend_gpu.py $T/test_allocator_gpu.py level2_transformer/tests/test_flash_cuda.py > $OUT/gpu_tests.txt 2>&1; echo "gpu tests rc=$? $((SECONDS-S)) s"; grep -E "passed|failed|FAILED|Error" $OUT/gpu_tests.txt | tail -12
PYTHONPATH=$OLD timeout 40 python3 .device/host_ab.py $OUT/host_before_1.json > $OUT/host_before_1.txt 2>&1; echo "before rc=$? $((SECONDS-S)) s"
PYTHONPATH=$NEW timeout 30 python3 .device/host_ab.py $OUT/host_after_1.json > $OUT/host_after_1.txt 2>&1; echo "after rc=$? $((SECONDS-S)) s"
python3 - <<'PY'
import json, os
out = os.environ["OUT"]
runs = {}
for tag in ("before_1", "after_1"):
    try:
        runs[tag] = {r["call"]: r["host_us"] for r in json.load(open(f"{out}/host_{tag}.json"))}
    except Exception as e:
        print(tag, "missing", e)
names = list(next(iter(runs.values())).keys()) if runs else []
for n in names:
    cells = [runs[t].get(n) for t in runs]
    print(" | ".join(f"{c:6.1f}" if isinstance(c, float) else str(c)[:20] for c in cells), "|", n)
PY
