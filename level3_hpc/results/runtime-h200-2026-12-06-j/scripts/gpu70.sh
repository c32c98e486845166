#!/bin/bash
# First call of the next session: the two load patches (.device/loads_first_fwd.patch: every load of a row before
# any use, softmax 06 / LayerNorm 05; .device/ln_bwd_ahead.patch: LayerNorm 14 loads chunk j+1 before chunk j's
# arithmetic) against main, in turns: candidate sweeps at fp32 softmax 65536x1000 and fp16 LayerNorm backward
# 16384x4097 (the H200's weakest row cells), the rows suite on both trees; the rows GPU tests on the patched tree.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/lf && mkdir -p /tmp/lf && cp -r level3_hpc /tmp/lf/ && (cd /tmp/lf && patch -p1 < $OLDPWD/.device/loads_first_fwd.patch && patch -p1 < $OLDPWD/.device/ln_bwd_ahead.patch) | tail -2
LF=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/lf/level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
for tree in main lf main lf; do
  P=$NEW; [ $tree = lf ] && P=$LF
  echo "== $tree" >> $OUT/sweep.txt
  PYTHONPATH=$P PYTHONUNBUFFERED=1 TOP=5 timeout 60 python3 .device/row_sweep.py 65536 1000 softmax:f32 >> $OUT/sweep.txt 2>&1; echo "sweep softmax $tree rc=$?"
  PYTHONPATH=$P PYTHONUNBUFFERED=1 TOP=3 timeout 60 python3 .device/row_sweep.py 16384 4097 ln_bwd:f16 >> $OUT/sweep.txt 2>&1; echo "sweep ln_bwd $tree rc=$?"
done
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep.txt | sed 's/reload=0, //; s/smem_acc=0, //; s/two_pass=0, //; s/rounds \[[^]]*\] //; s/min_blocks=0, //; s/raw=0, //' | cut -c1-190
for tree in main lf; do
  P=$NEW; [ $tree = lf ] && P=$LF
  PYTHONPATH=$P timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_$tree > $OUT/suite_$tree.txt 2>&1; echo "suite $tree rc=$?"; grep -v "^{" $OUT/suite_$tree.txt | grep -A8 "GPU time alone" | head -9
done
PYTHONPATH=$LF:level3_hpc/tests timeout 120 python3 -m pytest -q -x -p no:cacheprovider --tb=short /tmp/lf/level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -3 $OUT/rows_tests.txt
