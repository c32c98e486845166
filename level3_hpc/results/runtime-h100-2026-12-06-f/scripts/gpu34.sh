#!/bin/bash
# Call 9: d = 128's short-sequence tile (N_k <= 1024) with CAUSAL_GROUP = 16: 08/09 GPU tests, the flash suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
PYTHONPATH=$NEW timeout 200 python3 -m hyperion.kernels.suite --only flash --out /tmp/s3 > $OUT/suite_flash.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite_flash.txt | tail -24
