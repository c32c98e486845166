#!/bin/bash
# Nineteenth session, call 2: the two load patches now in the tree: the rows GPU tests in full, the mask test, the
# rows suite of the tree and of the tree with the patches taken back, in turns.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level2_transformer/tests timeout 60 python3 -m pytest -q -p no:cacheprovider --tb=short level2_transformer/tests/test_flash_cuda.py -k "mask" > $OUT/mask_tests.txt 2>&1; echo "mask tests rc=$? $((SECONDS-S)) s"; tail -2 $OUT/mask_tests.txt
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r level3_hpc /tmp/old/ && (cd /tmp/old && patch -R -p1 < $OLDPWD/.device/ln_bwd_ahead.patch && patch -R -p1 < $OLDPWD/.device/loads_first_fwd.patch) | tail -2
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/old/level3_hpc/src:level4_mastery/src:grader/src
for tree in new old new; do
  P=$NEW; [ $tree = old ] && P=$OLD
  PYTHONPATH=$P timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_$tree > $OUT/suite_$tree$SECONDS.txt 2>&1; echo "suite $tree rc=$? $((SECONDS-S)) s"
done
PYTHONPATH=$NEW:level3_hpc/tests timeout 260 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/rows_tests.txt
