#!/bin/bash
# Eighteenth session, call 1: the planned Hopper flash calls under their GPU tests, host time, the flash tests.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_planned_gpu.py > $OUT/planned_tests.txt 2>&1; echo "planned tests rc=$? $((SECONDS-S)) s"; tail -25 $OUT/planned_tests.txt | cut -c1-300
S=$SECONDS
PYTHONPATH=$NEW timeout 100 python3 .device/prof.py > $OUT/prof.txt 2>&1; echo "prof rc=$? $((SECONDS-S)) s"; head -12 $OUT/prof.txt; grep -A22 "cProfile" $OUT/prof.txt | cut -c1-160
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q --maxfail=10 -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_tma_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/flash_tests.txt 2>&1; echo "flash tests rc=$? $((SECONDS-S)) s"; tail -8 $OUT/flash_tests.txt | cut -c1-300
S=$SECONDS
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 -m hyperion.kernels.suite --only python --out $OUT/suite_python > $OUT/suite_python.txt 2>&1; echo "suite python rc=$? $((SECONDS-S)) s"; grep host_us $OUT/suite_python.txt | cut -c1-150
