#!/bin/bash
# Twenty-third session, call 2: the Hopper flash GPU tests on this card; the matmul and tensor-core suites.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --precompile > $OUT/precompile.txt 2>&1; echo "precompile rc=$? $((SECONDS-S)) s"
PYTHONPATH=$NEW:level3_hpc/tests:level2_transformer/tests timeout 230 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_bwd_tma_gpu.py level3_hpc/tests/test_flash_planned_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py level3_hpc/tests/test_flash_tma_gpu.py > $OUT/tests_flash.txt 2>&1; echo "flash tests rc=$? $((SECONDS-S)) s"; tail -4 $OUT/tests_flash.txt | cut -c1-300; grep -E "^FAILED" $OUT/tests_flash.txt | head
PYTHONPATH=$NEW timeout 180 python3 -m hyperion.kernels.suite --only matmul,tc --out $OUT/s_mm > $OUT/suite_mm.txt 2>&1; echo "mm suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_mm.txt | tail -30 | cut -c1-200
