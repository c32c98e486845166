#!/bin/bash
# 10_flash_fwd_tma: bench (builds every tile in parallel first), GPU tests; then the two row-load patches
# against main (one sweep round each at the H200's weakest row cells) and the rows GPU tests on the patched tree.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 200 python3 .device/tma_flash.py > $OUT/tma_bench.txt 2>&1; echo "bench rc=$? $((SECONDS-S)) s"; grep -v "^built" $OUT/tma_bench.txt | cut -c1-220 | head -40
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q --maxfail=15 -p no:cacheprovider --tb=line level3_hpc/tests/test_flash_tma_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/tma_tests.txt 2>&1; echo "tma tests rc=$? $((SECONDS-S)) s"; tail -25 $OUT/tma_tests.txt | cut -c1-300
rm -rf /tmp/lf && mkdir -p /tmp/lf && cp -r level3_hpc /tmp/lf/ && (cd /tmp/lf && patch -p1 < $OLDPWD/.device/loads_first_fwd.patch && patch -p1 < $OLDPWD/.device/ln_bwd_ahead.patch) | tail -2
LF=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/lf/level3_hpc/src:level4_mastery/src:grader/src
for tree in main lf; do
  P=$NEW; [ $tree = lf ] && P=$LF
  echo "== $tree" >> $OUT/sweep.txt
  PYTHONPATH=$P PYTHONUNBUFFERED=1 TOP=5 timeout 45 python3 .device/row_sweep.py 65536 1000 softmax:f32 >> $OUT/sweep.txt 2>&1; echo "sweep softmax $tree rc=$?"
  PYTHONPATH=$P PYTHONUNBUFFERED=1 TOP=3 timeout 45 python3 .device/row_sweep.py 16384 4097 ln_bwd:f16 >> $OUT/sweep.txt 2>&1; echo "sweep ln_bwd $tree rc=$?"
done
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep.txt | sed 's/reload=0, //; s/smem_acc=0, //; s/two_pass=0, //; s/rounds \[[^]]*\] //; s/min_blocks=0, //; s/raw=0, //' | cut -c1-190
PYTHONPATH=$LF:level3_hpc/tests timeout 100 python3 -m pytest -q -x -p no:cacheprovider --tb=short /tmp/lf/level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -3 $OUT/rows_tests.txt
