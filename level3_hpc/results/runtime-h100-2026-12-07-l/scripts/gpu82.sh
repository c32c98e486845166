#!/bin/bash
# Seventeenth session, the one call (device time mostly spent on failed starts): 10's plan launch under the GPU
# tests (10's and 08's), then the flash section of the suite if time is left.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q --maxfail=15 -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_tma_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/tma_tests.txt 2>&1; echo "tma tests rc=$? $((SECONDS-S)) s"; tail -15 $OUT/tma_tests.txt | cut -c1-300
if [ $SECONDS -lt 130 ]; then
  S=$SECONDS
  PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 130 python3 -m hyperion.kernels.suite --only flash --out $OUT/suite_flash > $OUT/suite_flash.txt 2>&1; echo "suite flash rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -26 | cut -c1-250
fi
