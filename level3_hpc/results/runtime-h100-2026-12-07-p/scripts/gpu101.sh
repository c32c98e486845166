#!/bin/bash
# Twenty-first session, call 3: 11 as the Hopper backward (bwd_tma.TMA_BWD_FROM_N, its tiles from call 2) --
# the flash GPU tests (11's, the planned calls', 09/10's, level 2's), then the flash suite and the python suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 100 python3 -m hyperion.kernels.suite --precompile > /dev/null 2>&1; echo "precompile $((SECONDS-S)) s"
PYTHONPATH=$NEW:level3_hpc/tests:level2_transformer/tests timeout 200 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_bwd_tma_gpu.py level3_hpc/tests/test_flash_planned_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py level3_hpc/tests/test_flash_tma_gpu.py > $OUT/tests_flash.txt 2>&1; echo "flash tests rc=$? $((SECONDS-S)) s"; tail -4 $OUT/tests_flash.txt | cut -c1-300
PYTHONPATH=$NEW timeout 170 python3 -m hyperion.kernels.suite --only flash --out /tmp/s_flash > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -30 | cut -c1-200
PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only python --out /tmp/s_py > $OUT/suite_python.txt 2>&1; echo "python suite rc=$? $((SECONDS-S)) s"; grep -i "flash\|softmax fp32 (06\|torch" $OUT/suite_python.txt | cut -c1-120
