#!/bin/bash
# GPU call 19: 14_wgmma_tma -- smoke (hang guard), correctness, then kernel-only ms against 12 and cuBLAS.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
PYTHONPATH=$NEW timeout 60 python3 .device/tma_check.py smoke > $OUT/tma_smoke.txt 2>&1; echo "smoke rc=$?"; tail -5 $OUT/tma_smoke.txt
if grep -q "rel err" $OUT/tma_smoke.txt; then
  PYTHONPATH=$NEW timeout 60 python3 .device/tma_check.py correct > $OUT/tma_correct.txt 2>&1; echo "correct rc=$?"; cat $OUT/tma_correct.txt | tail -30
  PYTHONPATH=$NEW timeout 90 python3 .device/tma_check.py time > $OUT/tma_time.txt 2>&1; echo "time rc=$?"; cat $OUT/tma_time.txt | tail -8
fi
