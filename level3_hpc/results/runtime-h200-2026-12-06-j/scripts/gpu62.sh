#!/bin/bash
# Call 3 (15th session): ncu of torch's softmax and ours (three configurations) at 65536x1000 fp32.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 200 ncu -k "regex:softmax" --launch-skip 4 --launch-count 4 \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section InstructionStats --section SchedulerStats --section Occupancy --section LaunchStats \
  --metrics dram__bytes_read.sum,dram__bytes_write.sum,smsp__inst_executed.sum,lts__t_sectors_op_read.sum,lts__t_sectors_op_write.sum,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio \
  python3 .device/sm_prof.py 65536 1000 f32 32,128,8,0 128,128,2,0 128,128,2,1 > $OUT/ncu_sm.txt 2>&1; echo "ncu rc=$?"
grep -E "^  [a-zA-Z_<]|Duration|DRAM Throughput|dram__bytes|lts__t_sectors|smsp__inst_executed.sum|L1/TEX Hit|Achieved Occupancy|Registers Per|Stall|Issued Warp|No Eligible|Active Warps Per|Eligible Warps|Executed Ipc A|long_scoreboard" $OUT/ncu_sm.txt | cut -c1-150 | head -90
