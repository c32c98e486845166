#!/bin/bash
# GPU call 13: fp16 LayerNorm backward at 16384x4097 -- register-sum configurations timed, and ncu of the table's pick
# at 4097 and 4096.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1; cat $OUT/gpu.txt
PYTHONPATH=$NEW timeout 70 python3 .device/ln4097.py sweep 4097 > $OUT/sweep.txt 2>&1; cat $OUT/sweep.txt
for C in 4097 4096; do
  PYTHONPATH=$NEW timeout 60 ncu -k regex:layernorm_bwd_rows_f16 --launch-skip 1 --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section MemoryWorkloadAnalysis --section LaunchStats \
    --section WarpStateStats --section SchedulerStats python3 .device/ln4097.py once $C > $OUT/ncu_$C.txt 2>&1
  echo "ncu $C rc=$?"; grep -E "Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Theoretical Occupancy|Block Limit|Stall|Issued Warp|No Eligible|Dynamic Shared" $OUT/ncu_$C.txt | head -24
done
