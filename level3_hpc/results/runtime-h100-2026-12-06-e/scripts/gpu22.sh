#!/bin/bash
# Tenth session call 1: 14 wired into matmul_tc_auto (GPU tests, bf16 suite + sweep, host µs), LN host parts, fp32 suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
git log -1 --format=%h >> $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 240 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_matmul_gpu.py \
  level3_hpc/tests/test_backend_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt
grep -E "FAILED|Error" $OUT/tests.txt | head -20
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --only tc,python --sweep --out /tmp/s > $OUT/suite.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite.txt | tail -45
PYTHONPATH=$NEW timeout 60 python3 .device/ln_host.py > $OUT/ln_host.txt 2>&1; echo "ln rc=$?"; head -30 $OUT/ln_host.txt
PYTHONPATH=$NEW timeout 100 python3 -m hyperion.kernels.suite --only matmul --out /tmp/s2 > $OUT/suite_fp32.txt 2>&1; echo "fp32 rc=$?"; grep -v "^{" $OUT/suite_fp32.txt | tail -14
