#!/bin/bash
# Eighteenth session, call 2: the planned flash calls and the 16-byte alignment fix (level 2 and 3) under tests.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q --maxfail=10 -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_planned_gpu.py level3_hpc/tests/test_flash_tma_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/l3_tests.txt 2>&1; echo "l3 flash tests rc=$? $((SECONDS-S)) s"; grep -v "excepthook\|Original exception\|^$" $OUT/l3_tests.txt | tail -25 | cut -c1-300
S=$SECONDS
PYTHONPATH=$NEW timeout 100 python3 .device/prof.py > $OUT/prof.txt 2>&1; echo "prof rc=$? $((SECONDS-S)) s"; head -12 $OUT/prof.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 150 python3 -m pytest -q --maxfail=10 -p no:cacheprovider --tb=short level2_transformer/tests/test_flash_cuda.py > $OUT/l2_tests.txt 2>&1; echo "l2 flash tests rc=$? $((SECONDS-S)) s"; grep -v "excepthook\|Original exception\|^$" $OUT/l2_tests.txt | tail -15 | cut -c1-300
