#!/bin/bash
# Nineteenth session, call 1: planned + mask tests, mask host time, then the two row-load patches against main.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests:level2_transformer/tests timeout 100 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_planned_gpu.py level2_transformer/tests/test_flash_cuda.py -k "planned or plan or host or mask or misaligned" > $OUT/tests.txt 2>&1; echo "tests rc=$? $((SECONDS-S)) s"; grep -v "excepthook\|Original exception\|^$" $OUT/tests.txt | tail -8 | cut -c1-300
PYTHONPATH=$NEW timeout 60 python3 .device/mask_host.py > $OUT/mask_host.txt 2>&1; echo "mask host rc=$?"; cat $OUT/mask_host.txt | tail -14
rm -rf /tmp/lf && mkdir -p /tmp/lf && cp -r level3_hpc /tmp/lf/ && (cd /tmp/lf && patch -p1 < $OLDPWD/.device/loads_first_fwd.patch && patch -p1 < $OLDPWD/.device/ln_bwd_ahead.patch) | tail -2
LF=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/lf/level3_hpc/src:level4_mastery/src:grader/src
for tree in main lf main lf; do
  P=$NEW; [ $tree = lf ] && P=$LF
  echo "== $tree" >> $OUT/sweep.txt
  PYTHONPATH=$P PYTHONUNBUFFERED=1 TOP=3 timeout 45 python3 .device/row_sweep.py 65536 1000 softmax:f32 >> $OUT/sweep.txt 2>&1; echo "sweep softmax $tree rc=$? $((SECONDS-S)) s"
done
for tree in main lf; do
  P=$NEW; [ $tree = lf ] && P=$LF
  echo "== $tree" >> $OUT/sweep.txt
  PYTHONPATH=$P PYTHONUNBUFFERED=1 TOP=3 timeout 45 python3 .device/row_sweep.py 16384 4097 ln_bwd:f16 >> $OUT/sweep.txt 2>&1; echo "sweep ln_bwd $tree rc=$? $((SECONDS-S)) s"
done
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep.txt | sed 's/reload=0, //; s/smem_acc=0, //; s/two_pass=0, //; s/rounds \[[^]]*\] //; s/min_blocks=0, //; s/raw=0, //' | cut -c1-190 | head -60
for tree in main lf; do
  P=$NEW; [ $tree = lf ] && P=$LF
  PYTHONPATH=$P timeout 70 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_$tree > $OUT/suite_$tree.txt 2>&1; echo "suite $tree rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_$tree.txt | grep -A8 "GPU time alone" | head -9
done
PYTHONPATH=$LF:level3_hpc/tests timeout 90 python3 -m pytest -q -x -p no:cacheprovider --tb=short /tmp/lf/level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/rows_tests.txt
