#!/bin/bash
# Call 13: 09 with L/delta by cp.async: GPU tests of 08/09, A/B against the previous 09 in one process, flash suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py -k "backward or block_order or use_kernels" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 120 python3 .device/ab_stats.py > $OUT/ab_stats.txt 2>&1; echo "ab rc=$?"; tail -17 $OUT/ab_stats.txt
