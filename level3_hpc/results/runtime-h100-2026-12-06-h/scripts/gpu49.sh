#!/bin/bash
# Call 4 (13th session): 15's plan object (matmul_auto's 15 route without per-call checks): 15 GPU tests,
# host time per call, matmul suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 100 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_matmul_3xtf32_gpu.py level3_hpc/tests/test_matmul_gpu.py -k "3xtf32 or auto" > $OUT/tf32_tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tf32_tests.txt
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --only python,matmul --out /tmp/sm > $OUT/suite_python_matmul.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite_python_matmul.txt | tail -40
