#!/bin/bash
# Twenty-first session, call 6: 10 with its waits ahead of the wgmma fence (ptxas's C7519/C7520 -- products
# serialized -- gone): 10's GPU tests, 10 old (HEAD before this session, .device/old_src) and new in turns, the flash suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:.device/old_src/level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 100 python3 -m hyperion.kernels.suite --precompile > /dev/null 2>&1 &
PYTHONPATH=$OLD timeout 100 python3 -m hyperion.kernels.suite --precompile > /dev/null 2>&1 &
wait; echo "precompile $((SECONDS-S)) s"
PYTHONPATH=$NEW:level3_hpc/tests timeout 120 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_tma_gpu.py level3_hpc/tests/test_flash_planned_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/tests.txt | cut -c1-300
for r in 1 2; do
  PYTHONPATH=$NEW timeout 60 python3 .device/fwd_ab.py >> $OUT/ab.txt 2>&1
  PYTHONPATH=$OLD OLD=1 timeout 60 python3 .device/fwd_ab.py >> $OUT/ab.txt 2>&1
done; echo "ab $((SECONDS-S)) s"
python3 - $OUT/ab.txt <<'PY'
import sys, re, collections
best = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    m = re.match(r"(old|new) d=(\d+) N=(\d+) causal=(\w+) ms=([\d.]+)", line)
    if m:
        key = m.group(2, 3, 4); ms = float(m.group(5))
        best[key][m.group(1)] = min(best[key].get(m.group(1), 9e9), ms)
for key, v in best.items():
    print(key, f"old {v.get('old', 0):.4f} new {v.get('new', 0):.4f} old/new {v.get('old', 0) / v.get('new', 1):.3f}")
PY
PYTHONPATH=$NEW timeout 110 python3 -m hyperion.kernels.suite --only flash --out /tmp/s_flash > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -23 | cut -c1-200
