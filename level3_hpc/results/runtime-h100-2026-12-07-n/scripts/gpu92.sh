#!/bin/bash
# Nineteenth session, call 3: NVRTC's source now names the headers' hash (no stale kernels): the rows GPU tests on
# the tree with both load patches, then the rows suite of the tree and of the tree with them taken back.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/rows_tests.txt
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r level3_hpc /tmp/old/ && (cd /tmp/old && patch -p1 < $OLDPWD/.device/rows_back.patch) | tail -2
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/old/level3_hpc/src:level4_mastery/src:grader/src
for tree in new old; do
  P=$NEW; [ $tree = old ] && P=$OLD
  PYTHONPATH=$P timeout 50 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_$tree > $OUT/suite_${tree}.txt 2>&1; echo "suite $tree rc=$? $((SECONDS-S)) s"
  grep -v "^{" $OUT/suite_${tree}.txt | grep -A8 "GPU time alone" | tail -5
done
