#!/bin/bash
# Eighteenth session, call 4 (lean: little device time left): the plan changes of c216976 under their tests, host time.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 130 python3 -m pytest -q --maxfail=10 -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_planned_gpu.py level3_hpc/tests/test_flash_tma_gpu.py -k "planned or plan or dispatch or misaligned or host_keys or bad_arg or float32 or bounded or holds" > $OUT/l3_tests.txt 2>&1; echo "tests rc=$? $((SECONDS-S)) s"; grep -v "excepthook\|Original exception\|^$" $OUT/l3_tests.txt | tail -20 | cut -c1-300
S=$SECONDS
PYTHONPATH=$NEW timeout 40 python3 .device/prof.py > $OUT/prof.txt 2>&1; echo "prof rc=$? $((SECONDS-S)) s"; head -12 $OUT/prof.txt
