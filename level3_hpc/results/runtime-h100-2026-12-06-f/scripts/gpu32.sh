#!/bin/bash
# Call 7: causal block order across heads (block_tile's group): GPU tests of 08/09, then the group sweep.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 250 python3 .device/group_sweep.py > $OUT/group_sweep.txt 2>&1; echo "sweep rc=$?"; grep -v "^{" $OUT/group_sweep.txt | tail -12
