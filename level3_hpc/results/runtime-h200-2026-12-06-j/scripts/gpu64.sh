#!/bin/bash
# Call 4 (15th session): the suite's rows, matmul and tensor-core sections with this session's table; the rows GPU tests.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 200 python3 -m hyperion.kernels.suite --only rows,matmul,tc --out /tmp/s4 > $OUT/suite.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite.txt | grep -A9 "GPU time alone\|geometric\|vs cuBLAS" | head -60
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -2 $OUT/rows_tests.txt
