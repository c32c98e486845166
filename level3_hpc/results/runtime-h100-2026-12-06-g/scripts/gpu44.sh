#!/bin/bash
# Call 4: the final W_SHIFT rule (backward any dtype, 16-bit forward) and the new table entries at 16384x4097:
# LayerNorm-backward candidates; rows suite old vs new; rows GPU tests.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r level3_hpc/src /tmp/old/ && cp .device/old_row_regime.cuh /tmp/old/src/hyperion/kernels/row_regime.cuh && cp .device/old_rows.py /tmp/old/src/hyperion/kernels/rows.py
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/old/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 120 python3 .device/cand_sweep.py 16384 4097 ln_bwd:f32 ln_bwd:f16 > $OUT/cand_4097.txt 2>&1; echo "cand rc=$?"; head -5 $OUT/cand_4097.txt; grep -A4 "ln_bwd f16" $OUT/cand_4097.txt
PYTHONPATH=$OLD timeout 90 python3 -m hyperion.kernels.suite --only rows --out /tmp/so > $OUT/suite_rows_old.txt 2>&1; echo "old rc=$?"; grep -v "^{" $OUT/suite_rows_old.txt | grep -A8 "Row kernels vs\|GPU time alone" | head -22
PYTHONPATH=$NEW timeout 90 python3 -m hyperion.kernels.suite --only rows --out /tmp/sn > $OUT/suite_rows_new.txt 2>&1; echo "new rc=$?"; grep -v "^{" $OUT/suite_rows_new.txt | grep -A8 "Row kernels vs\|GPU time alone" | head -22
PYTHONPATH=$NEW:level3_hpc/tests timeout 110 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -2 $OUT/rows_tests.txt
