#!/bin/bash
# Twenty-first session, call 4: 11's two kernels tuned apart; the planned backward's host time, 11 against 09;
# on an H200 also the rows, flash and matmul suites (the targets name the H200).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 150 python3 .device/bwd_tiles_apart.py > $OUT/tiles_apart.txt 2>&1; echo "tiles apart rc=$? $((SECONDS-S)) s"; cat $OUT/tiles_apart.txt | cut -c1-220
PYTHONPATH=$NEW timeout 60 python3 .device/bwd_host.py > $OUT/bwd_host.txt 2>&1; echo "host rc=$? $((SECONDS-S)) s"; cat $OUT/bwd_host.txt
grep -q H200 $OUT/smi.txt || exit 0
PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_rows > $OUT/suite_rows.txt 2>&1; echo "rows suite rc=$? $((SECONDS-S)) s"; grep -A8 "GPU time alone" $OUT/suite_rows.txt | cut -c1-160; grep -A8 "fraction of a device copy" $OUT/suite_rows.txt | cut -c1-160
PYTHONPATH=$NEW timeout 170 python3 -m hyperion.kernels.suite --only flash --out /tmp/s_flash > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -24 | cut -c1-200
PYTHONPATH=$NEW timeout 120 python3 -m hyperion.kernels.suite --only matmul,tc --out /tmp/s_mm > $OUT/suite_mm.txt 2>&1; echo "mm suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_mm.txt | tail -30 | cut -c1-200
