#!/bin/bash
# Call 6: d = 96 with its swept tiles: GPU tests of 08/09 (every dim, the tables' tiles) and the d = 96 timings.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 200 python3 .device/ablate15.py --flash96-only > $OUT/flash96.txt 2>&1; echo "flash96 rc=$?"; grep "^d=96" $OUT/flash96.txt
