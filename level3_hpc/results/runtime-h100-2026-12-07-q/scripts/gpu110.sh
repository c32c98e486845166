#!/bin/bash
# Twenty-second session, call 1. (a) 11 with delta computed in its dQ kernel (no delta launch): its GPU tests and
# every flash GPU test (incl. the edited 08 dispatch test, first on a GPU); (b) the planned backward, old tree
# (delta kernel) against new, in turns, 2 rounds each (GPU time, 24 cells; host time); (c) 11's dQ kernel with
# FLASH_PIPE=1 against 0 (new tree).
# On an H200 also: the rows suite (the issue's targets name the H200).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
OLD=$(echo $NEW | sed 's#\([a-z0-9_]*\)/src#.device/old_src/\1/src#g')
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PIPE=1 PYTHONPATH=$NEW timeout 150 python3 .device/precompile_flash.py > $OUT/pre_new.txt 2>&1 &
PYTHONPATH=$OLD timeout 150 python3 .device/precompile_flash.py > $OUT/pre_old.txt 2>&1 &
wait; echo "precompile $((SECONDS-S)) s"; tail -1 $OUT/pre_new.txt $OUT/pre_old.txt
PYTHONPATH=$NEW:level3_hpc/tests:level2_transformer/tests timeout 200 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_bwd_tma_gpu.py level3_hpc/tests/test_fwd_tma_host.py "level3_hpc/tests/test_flash_wgmma_gpu.py::test_dispatch_picks_08_on_hopper" 2>&1 | tail -8 | tee $OUT/tests_flash.txt; echo "tests $((SECONDS-S)) s"
for r in 0; do
  LABEL=new$r PYTHONPATH=$NEW timeout 70 python3 .device/bwd_fused_ab.py >> $OUT/ab.txt 2>&1; echo "ab new rc=$? $((SECONDS-S)) s"
  LABEL=old$r PYTHONPATH=$OLD timeout 70 python3 .device/bwd_fused_ab.py >> $OUT/ab.txt 2>&1; echo "ab old rc=$? $((SECONDS-S)) s"
done
python3 - <<'PY' $OUT/ab.txt
import re, sys, collections
t = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    m = re.match(r"(new|old)(\d) d=\s*(\d+) N=\s*(\d+) causal=(\d) +([\d.]+) ms", line)
    if m: t[(m[3], m[4], m[5])].setdefault(m[1], []).append(float(m[6]))
for key, v in t.items():
    if "new" in v and "old" in v: print("d=%s N=%s causal=%s" % key, "old %.3f new %.3f ms  old/new %.3f" % (min(v["old"]), min(v["new"]), min(v["old"]) / min(v["new"])))
PY
grep host $OUT/ab.txt; grep -i "error\|Traceback" $OUT/ab.txt | head -5
PYTHONPATH=$NEW timeout 150 python3 .device/pipe_ab.py > $OUT/pipe_ab.txt 2>&1; echo "pipe ab rc=$? $((SECONDS-S)) s"; cat $OUT/pipe_ab.txt | tail -26 | cut -c1-200
if grep -q H200 $OUT/smi.txt; then
  PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_rows > $OUT/suite_rows.txt 2>&1; echo "rows suite rc=$? $((SECONDS-S)) s"; grep -A8 "GPU time alone" $OUT/suite_rows.txt | cut -c1-160
fi
