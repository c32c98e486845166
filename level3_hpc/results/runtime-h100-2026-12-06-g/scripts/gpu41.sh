#!/bin/bash
# Twelfth session, call 1: LayerNorm 14's tail slot (16384x4097 and 4096x1000... the tail shapes), rows GPU tests;
# then DQ_TILES (d128 timing, backward tests) and the causal dK/dV stall sampling.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 150 python3 .device/tail_sweep.py 16384 4097 > $OUT/tail_sweep.txt 2>&1; echo "tail rc=$?"; cat $OUT/tail_sweep.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 100 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -2 $OUT/rows_tests.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 .device/d128.py > $OUT/d128.txt 2>&1; echo "d128 rc=$?"; tail -5 $OUT/d128.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 120 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py -k "backward or use_kernels" > $OUT/flash_tests.txt 2>&1; echo "flash tests rc=$?"; tail -2 $OUT/flash_tests.txt; grep -E "^FAILED" $OUT/flash_tests.txt | head
for c in "0 1" "1 16"; do set -- $c
PYTHONPATH=$NEW timeout 60 ncu -k regex:dkdv -c 1 -s 1 --section WarpStateStats --section SchedulerStats --page details --print-details all python3 .device/one_bwd.py $1 $2 > $OUT/ncu_stalls_causal$1.txt 2>&1; echo "ncu causal=$1 rc=$?"
grep -iE "stall|Warp Cycles|Issued Warp|No Eligible" $OUT/ncu_stalls_causal$1.txt | head -30
done
