#!/bin/bash
# Call 14: DQ_TILES (d = 128's dQ on its own tile) and d = 128's dK/dV tile: backward GPU tests, f+b against SDPA.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 60 python3 .device/d128.py > $OUT/d128.txt 2>&1; echo "d128 rc=$?"; cat $OUT/d128.txt | tail -5
PYTHONPATH=$NEW:level3_hpc/tests timeout 60 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py -k "backward_fp16 or backward_bf16 or use_kernels" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
