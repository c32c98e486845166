#!/bin/bash
# Call 1 (13th session): matmul 15 (3xTF32) GPU tests and timings vs cuBLAS fp32; then 09 unswitched (gpu45.sh).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -s -p no:cacheprovider --tb=short level3_hpc/tests/test_matmul_3xtf32_gpu.py level3_hpc/tests/test_matmul_gpu.py -k "3xtf32 or tma or auto" > $OUT/tf32_tests.txt 2>&1; rc=$?; echo "tf32 tests rc=$rc"; grep -v "^\." $OUT/tf32_tests.txt | tail -30
[ $rc = 124 ] || PYTHONPATH=$NEW timeout 150 python3 .device/tf32_bench.py > $OUT/tf32_bench.txt 2>&1; echo "bench rc=$?"; cat $OUT/tf32_bench.txt | tail -12
bash .device/gpu45.sh
