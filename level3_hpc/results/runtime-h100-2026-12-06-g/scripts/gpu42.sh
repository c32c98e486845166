#!/bin/bash
# Call 2: load_f32 by aligned float4s + shift (row_regime.cuh): rows suite old vs new tree; LayerNorm candidates
# at 16384x4097; rows GPU tests.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r level3_hpc/src /tmp/old/ && cp .device/old_row_regime.cuh /tmp/old/src/hyperion/kernels/row_regime.cuh
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/old/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 100 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -2 $OUT/rows_tests.txt
for i in 1 2; do
PYTHONPATH=$OLD timeout 100 python3 -m hyperion.kernels.suite --only rows --out /tmp/so$i > $OUT/suite_rows_old$i.txt 2>&1; echo "old rc=$?"; grep -v "^{" $OUT/suite_rows_old$i.txt | grep -A8 "Row kernels vs\|GPU time alone" | head -22
PYTHONPATH=$NEW timeout 100 python3 -m hyperion.kernels.suite --only rows --out /tmp/sn$i > $OUT/suite_rows_new$i.txt 2>&1; echo "new rc=$?"; grep -v "^{" $OUT/suite_rows_new$i.txt | grep -A8 "Row kernels vs\|GPU time alone" | head -22
[ $i = 1 ] && { PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 150 python3 .device/cand_sweep.py 16384 4097 ln_bwd:f16 ln_bwd:f32 > $OUT/cand_4097.txt 2>&1; echo "cand rc=$?"; cat $OUT/cand_4097.txt; }
done
PYTHONPATH=$NEW timeout 60 python3 .device/host_ln.py > $OUT/host_ln.txt 2>&1; echo "host rc=$?"; cat $OUT/host_ln.txt
