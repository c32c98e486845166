#!/bin/bash
# Twenty-first session, call 8: 10 at d = 80 and 96 from any N, three stages there and at d = 128 -- 10's GPU tests and the
# planned calls', then the flash suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 80 python3 -m hyperion.kernels.suite --precompile > /dev/null 2>&1; echo "precompile $((SECONDS-S)) s"
PYTHONPATH=$NEW:level3_hpc/tests timeout 100 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_tma_gpu.py level3_hpc/tests/test_flash_planned_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/tests.txt | cut -c1-300
PYTHONPATH=$NEW timeout 110 python3 -m hyperion.kernels.suite --only flash --out /tmp/s_flash > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -23 | cut -c1-200
