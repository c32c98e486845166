#!/bin/bash
# Call 4 (15th session, short): after "every load before any use" -- fp32 softmax 65536x1000 and fp16 LayerNorm
# backward 16384x4097 candidate sweeps, the rows suite, the rows GPU tests (as time allows).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s4 > $OUT/suite.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite.txt | grep -A8 "GPU time alone\|fraction of a device" | head -24
for spec in "65536 1000 softmax:f32" "16384 4097 ln_bwd:f16"; do
  PYTHONPATH=$NEW PYTHONUNBUFFERED=1 TOP=4 timeout 45 python3 .device/row_sweep.py $spec >> $OUT/sweep.txt 2>&1; echo "sweep $spec rc=$?"
done
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep.txt | sed 's/reload=0, //; s/smem_acc=0, //; s/two_pass=0, //; s/rounds \[[^]]*\] //; s/min_blocks=0, //; s/raw=0, //' | cut -c1-190
PYTHONPATH=$NEW:level3_hpc/tests timeout 60 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -3 $OUT/rows_tests.txt
