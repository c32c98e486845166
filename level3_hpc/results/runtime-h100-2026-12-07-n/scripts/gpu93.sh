#!/bin/bash
# Nineteenth session, call 3 (the last device seconds): the rows GPU tests other than the kernel-by-kernel comparison (call 1 ran those on a fresh build) on the tree with both load
# patches, freshly built (NVRTC's source now names the headers' hash).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 130 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py -k "not test_row_kernel_matches_torch" > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/rows_tests.txt
