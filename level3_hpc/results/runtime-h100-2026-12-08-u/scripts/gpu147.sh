#!/bin/bash
# Twenty-sixth session, call 3: 14 and 16 by GPU time alone at the suite's shapes; then the GPU tests of the
# launchers the twenty-fifth session changed (gpu144's first step ran out of time at 27 %), file by file.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 170 python3 .device/tc_alone16.py > $OUT/tc_alone16.txt 2>&1; echo "tc_alone16 rc=$? $((SECONDS-S)) s"; cut -c1-150 $OUT/tc_alone16.txt
T=level3_hpc/tests
for f in $T/test_flash_planned_gpu.py $T/test_rows_gpu.py $T/test_fused_gpu.py $T/test_backend_gpu.py $T/test_allocator_gpu.py $T/test_cuda_graph_gpu.py $T/test_matmul_3xtf32_gpu.py; do
  left=$((520 - SECONDS + S)); [ $left -lt 20 ] && { echo "no time for $f"; continue; }
  PYTHONPATH=$NEW timeout $left python3 -m pytest -q -p no:cacheprovider $f > $OUT/$(basename $f .py).txt 2>&1; echo "$(basename $f) rc=$? $((SECONDS-S)) s: $(tail -1 $OUT/$(basename $f .py).txt)"
  grep -E "^FAILED" $OUT/$(basename $f .py).txt | head -5
done
