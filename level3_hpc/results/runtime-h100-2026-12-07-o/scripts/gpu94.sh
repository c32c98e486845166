#!/bin/bash
# Twentieth session, call 1: the rows GPU tests the landed forward patch has not had on a GPU; the rows suite of the
# tree and of the tree with the load patches taken back (in turns); then the flash, matmul and tc suites.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW:level3_hpc/tests timeout 130 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py -k "not test_row_kernel_matches_torch" > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/rows_tests.txt
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r level3_hpc /tmp/old/ && (cd /tmp/old && patch -p1 < $OLDPWD/.device/rows_back.patch) | tail -2
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/old/level3_hpc/src:level4_mastery/src:grader/src
for tree in new old; do
  P=$NEW; [ $tree = old ] && P=$OLD
  PYTHONPATH=$P timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_$tree > $OUT/suite_rows_${tree}_$SECONDS.txt 2>&1; echo "suite $tree rc=$? $((SECONDS-S)) s"
done
grep -h -A8 "GPU time alone" $OUT/suite_rows_*.txt | cut -c1-160
PYTHONPATH=$NEW timeout 170 python3 -m hyperion.kernels.suite --only flash --out /tmp/s_flash > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -30 | cut -c1-200
PYTHONPATH=$NEW timeout 120 python3 -m hyperion.kernels.suite --only matmul,tc,python --out /tmp/s_mm > $OUT/suite_mm.txt 2>&1; echo "mm suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_mm.txt | tail -40 | cut -c1-200
