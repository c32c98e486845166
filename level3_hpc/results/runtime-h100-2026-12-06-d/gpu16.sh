#!/bin/bash
# GPU call 16: the one-launch padded tensor-core path: tests, piece timings, bf16 suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1; cat $OUT/gpu.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 100 python3 -m pytest -q -x -p no:cacheprovider level3_hpc/tests/test_matmul_gpu.py -k "tc_auto" \
  > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt
PYTHONPATH=$NEW timeout 60 python3 .device/padtime.py > $OUT/padtime.txt 2>&1; cat $OUT/padtime.txt
PYTHONPATH=$NEW timeout 120 python3 -m hyperion.kernels.suite --only tc --out /tmp/s > $OUT/suite_tc.txt 2>&1; echo "suite rc=$?"; tail -12 $OUT/suite_tc.txt
