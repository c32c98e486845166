#!/bin/bash
# Call 2: matmul 15 (conflict-free) GPU tests, ablation, fp32 sweep with 15 among the candidates, d=96 flash.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 -m hyperion.kernels.suite --precompile --only matmul > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; grep -i fail $OUT/precompile.txt | head -5
PYTHONPATH=$NEW:level3_hpc/tests timeout 120 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_matmul_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 150 python3 .device/ablate15.py --flash96 > $OUT/ablate.txt 2>&1; echo "ablate rc=$?"; grep -v "^{" $OUT/ablate.txt | tail -20
PYTHONPATH=$NEW timeout 200 python3 -m hyperion.kernels.suite --only matmul --sweep --out /tmp/s2 > $OUT/suite_fp32_sweep.txt 2>&1; echo "sweep rc=$?"; grep -v "^{" $OUT/suite_fp32_sweep.txt | tail -14
