#!/bin/bash
# Call 2 (13th session): matmul 15 with per-stage partial sums added on the CUDA cores (round to nearest) vs the
# first form (.device/old15 = commit 4e8b124's level3_hpc/src); GPU tests; suite matmul; then rows (gpu44 part).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
O15=level0_foundations/src:level1_tensor/src:level2_transformer/src:.device/old15/level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -s -p no:cacheprovider --tb=short level3_hpc/tests/test_matmul_3xtf32_gpu.py level3_hpc/tests/test_matmul_gpu.py -k "3xtf32 or rasterisation or tma or auto" > $OUT/tf32_tests.txt 2>&1; rc=$?; echo "tf32 tests rc=$rc"; grep -v "^\.$" $OUT/tf32_tests.txt | tail -30
[ $rc = 124 ] || PYTHONPATH=$NEW timeout 100 python3 .device/tf32_bench.py new > $OUT/tf32_bench.txt 2>&1; echo "bench rc=$?"
PYTHONPATH=$O15 timeout 60 python3 .device/tf32_bench.py old >> $OUT/tf32_bench.txt 2>&1; echo "bench old rc=$?"; cat $OUT/tf32_bench.txt
[ $rc = 124 ] || PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --only matmul,python --out /tmp/sm > $OUT/suite_matmul.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite_matmul.txt | tail -45
PYTHONPATH=$NEW timeout 120 python3 -m hyperion.kernels.suite --only flash --out /tmp/sf > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$?"; grep -v "^{" $OUT/suite_flash.txt | tail -25
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r level3_hpc/src /tmp/old/ && cp .device/old_row_regime.cuh /tmp/old/src/hyperion/kernels/row_regime.cuh && cp .device/old_rows.py /tmp/old/src/hyperion/kernels/rows.py
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/old/src:level4_mastery/src:grader/src
PYTHONPATH=$OLD timeout 80 python3 -m hyperion.kernels.suite --only rows --out /tmp/so > $OUT/suite_rows_old.txt 2>&1; echo "old rc=$?"; grep -v "^{" $OUT/suite_rows_old.txt | grep -A8 "Row kernels vs\|GPU time alone" | head -22
PYTHONPATH=$NEW timeout 80 python3 -m hyperion.kernels.suite --only rows --out /tmp/sn > $OUT/suite_rows_new.txt 2>&1; echo "new rc=$?"; grep -v "^{" $OUT/suite_rows_new.txt | grep -A8 "Row kernels vs\|GPU time alone" | head -22
PYTHONPATH=$NEW:level3_hpc/tests timeout 90 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -2 $OUT/rows_tests.txt
