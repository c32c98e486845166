#!/bin/bash
# Call 4 (15th session): row sweeps after "every load before any use" (softmax 06 / LayerNorm 05 load_row, LayerNorm 14);
# the rows GPU tests.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
for spec in "65536 1000 softmax:f32 ln_fwd:f32" "16384 4097 ln_bwd:f16 ln_bwd:f32" "16384 4096 ln_fwd:f16 ln_bwd:f16"; do
  PYTHONPATH=$NEW PYTHONUNBUFFERED=1 ITERS=1,2 TOP=4 timeout 110 python3 .device/row_sweep.py $spec >> $OUT/sweep.txt 2>&1; echo "sweep $spec rc=$?"
done
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep.txt | sed 's/reload=0, //; s/smem_acc=0, //; s/two_pass=0, //; s/rounds \[[^]]*\] //; s/min_blocks=0, //; s/raw=0, //' | cut -c1-190
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -3 $OUT/rows_tests.txt
