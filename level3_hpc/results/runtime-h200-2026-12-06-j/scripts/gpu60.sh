#!/bin/bash
# Call 1 (15th session): 15 with two stages an iteration (.device/15_pair.patch) against 15 as landed, in turns;
# its GPU tests; ncu of the 16-bit LayerNorm forward at 16384x4096, ours and torch's.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/p15 && mkdir -p /tmp/p15 && cp -r level3_hpc /tmp/p15/
cp .device/15_pair.patch /tmp/p15/pair.patch && (cd /tmp/p15 && patch -p1 -N < pair.patch) | tail -1
grep -c "retire0" /tmp/p15/level3_hpc/src/hyperion/kernels/matmul/15_wgmma_3xtf32.cu
PAIR=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/p15/level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
for round in 1 2; do
  PYTHONPATH=$NEW timeout 60 python3 .device/tf32_bench.py old$round >> $OUT/tf32.txt 2>&1; echo "old$round rc=$?"
  PYTHONPATH=$PAIR timeout 60 python3 .device/tf32_bench.py new$round >> $OUT/tf32.txt 2>&1; echo "new$round rc=$?"
done
grep -v "^{" $OUT/tf32.txt | sed 's/; 15 {[^}]*}/; 15/g' | cut -c1-260
PYTHONPATH=$PAIR:level3_hpc/tests timeout 90 python3 -m pytest -q -x -p no:cacheprovider --tb=short /tmp/p15/level3_hpc/tests/test_matmul_3xtf32_gpu.py > $OUT/pair_tests.txt 2>&1; echo "pair tests rc=$?"; tail -2 $OUT/pair_tests.txt
for spec in "16384 4096 ln_fwd f16" "65536 1000 softmax f32"; do
  set -- $spec
  PYTHONPATH=$NEW timeout 90 ncu -k "regex:layernorm|softmax|LayerNorm|Softmax" --launch-skip 2 --launch-count 2 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats \
    python3 .device/ln_prof.py $spec > $OUT/ncu_$3_$4.txt 2>&1; echo "ncu $spec rc=$?"
  grep -E "^  [a-zA-Z_]+.*\(|Duration|DRAM Throughput|Memory Throughput|L1/TEX Hit|L2 Hit|Achieved Occupancy|Registers Per|Theoretical Occupancy|Stall|Issued Warp|No Eligible|Grid Size|Block Size" $OUT/ncu_$3_$4.txt | head -40
done
