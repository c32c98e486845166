#!/bin/bash
# Call 3 (15th session): ncu of torch's softmax and ours at 65536x1000 fp32; row sweeps with ROW_ITERS 1/2/4;
# 15's GPU tests; ncu of the fp16 LayerNorm backward at 16384x4097.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 150 ncu -k "regex:softmax" --launch-skip 5 --launch-count 5 \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section InstructionStats --section SchedulerStats --section Occupancy --section LaunchStats \
  --metrics dram__bytes_read.sum,dram__bytes_write.sum,smsp__inst_executed.sum \
  python3 .device/sm_prof.py 65536 1000 f32 32,128,8,0,1 128,128,2,0,1 128,128,2,1,1 128,128,2,0,4 > $OUT/ncu_sm.txt 2>&1; echo "ncu rc=$?"
grep -E "^  [a-zA-Z_<]|Duration|DRAM Throughput|dram__bytes|smsp__inst_executed.sum|Achieved Occupancy|Registers Per|Issued Warp|No Eligible|Active Warps Per|Eligible Warps" $OUT/ncu_sm.txt | cut -c1-120 | head -70
for spec in "65536 1000 softmax:f32 ln_fwd:f32 softmax:f16" "16384 4096 ln_fwd:f16 softmax:f32" "4096 1000 softmax:f32 ln_fwd:f16 ln_fwd:f32" "16384 4097 ln_bwd:f16"; do
  PYTHONPATH=$NEW PYTHONUNBUFFERED=1 ITERS=1,2,4 TOP=5 timeout 130 python3 .device/row_sweep.py $spec >> $OUT/sweep.txt 2>&1; echo "sweep $spec rc=$?"
done
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep.txt | sed 's/reload=0, //; s/smem_acc=0, //; s/two_pass=0, //; s/rounds \[[^]]*\] //' | cut -c1-200
PYTHONPATH=$NEW:level3_hpc/tests timeout 60 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_matmul_3xtf32_gpu.py > $OUT/tf32_tests.txt 2>&1; echo "tf32 tests rc=$?"; tail -2 $OUT/tf32_tests.txt
PYTHONPATH=$NEW timeout 80 ncu -k "regex:layernorm|LayerNorm|layer_norm" --launch-skip 0 --launch-count 8 \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats \
  python3 .device/ln_prof.py 16384 4097 ln_bwd f16 > $OUT/ncu_lnbwd.txt 2>&1; echo "ncu lnbwd rc=$?"
grep -E "^  [a-zA-Z_<]|Duration|DRAM Throughput|Memory Throughput|L1/TEX Hit|L2 Hit|Achieved Occupancy|Registers Per|Issued Warp|No Eligible|Grid Size|Block Size" $OUT/ncu_lnbwd.txt | cut -c1-120 | head -40
