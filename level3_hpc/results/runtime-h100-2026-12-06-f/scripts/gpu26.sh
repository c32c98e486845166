#!/bin/bash
# Eleventh session, call 1: the tests written after the tenth session's budget (exactly-48-KB LayerNorm
# backward, empty flash sequences), flash/python/rows suites, fp32 matmul sweep on this card.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 120 python3 -m hyperion.kernels.suite --precompile > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
PYTHONPATH=$NEW timeout 200 python3 -m hyperion.kernels.suite --only python,rows --out /tmp/s1 > $OUT/suite_rows.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite_rows.txt | tail -45
PYTHONPATH=$NEW timeout 200 python3 -m hyperion.kernels.suite --only matmul --sweep --out /tmp/s2 > $OUT/suite_fp32_sweep.txt 2>&1; echo "sweep rc=$?"; grep -v "^{" $OUT/suite_fp32_sweep.txt | tail -14
