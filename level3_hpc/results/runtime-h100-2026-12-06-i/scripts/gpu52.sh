#!/bin/bash
# Call 3 (14th session): the fp32 LayerNorm backward entry at 16384x4097 with W_SHIFT in a suite run; rows GPU
# tests (fp32 backward rows now with the shift); flash GPU tests (d = 128's short tile) with room to finish.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 90 python3 -m hyperion.kernels.suite --only rows --out /tmp/sr > $OUT/suite_rows.txt 2>&1; echo "rows suite rc=$?"; grep -v "^{" $OUT/suite_rows.txt | grep -A9 "Row kernels vs\|GPU time alone" | head -24
PYTHONPATH=$NEW:level3_hpc/tests timeout 160 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -3 $OUT/rows_tests.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 240 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/flash_tests.txt 2>&1; echo "flash tests rc=$?"; tail -3 $OUT/flash_tests.txt
