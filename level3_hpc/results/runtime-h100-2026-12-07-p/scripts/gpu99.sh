#!/bin/bash
# Twenty-first session, call 1. On an H200: the rows suite, the fp32 softmax sweep at 65536x1000, the flash
# suite and the matmul/tc/python suites (the targets name the H200). On an H100: the python suite only
# (the suite's host_us as best of five 200-call runs, 1cf210d, not yet run on a GPU).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
if ! grep -q H200 $OUT/smi.txt; then
  PYTHONPATH=$NEW timeout 120 python3 -m hyperion.kernels.suite --only python --out /tmp/s_py > $OUT/suite_python.txt 2>&1; echo "python suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_python.txt | tail -30 | cut -c1-200
  exit 0
fi
PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_rows > $OUT/suite_rows.txt 2>&1; echo "suite rc=$? $((SECONDS-S)) s"; grep -A8 "GPU time alone" $OUT/suite_rows.txt | cut -c1-160; grep -A8 "fraction of a device copy" $OUT/suite_rows.txt | cut -c1-160
PYTHONPATH=$NEW timeout 170 python3 -m hyperion.kernels.suite --only flash --out /tmp/s_flash > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -30 | cut -c1-200
PYTHONPATH=$NEW timeout 120 python3 -m hyperion.kernels.suite --only matmul,tc,python --out /tmp/s_mm > $OUT/suite_mm.txt 2>&1; echo "mm suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_mm.txt | tail -40 | cut -c1-200
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 TOP=6 timeout 75 python3 .device/row_sweep.py 65536 1000 softmax:f32 > $OUT/sweep_softmax.txt 2>&1; echo "sweep rc=$? $((SECONDS-S)) s"
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep_softmax.txt | cut -c1-190 | tail -14
