#!/bin/bash
# Call 2 (15th session): the rows suite and candidate sweeps at its weakest cells, on whatever card comes.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --only rows --out /tmp/sr > $OUT/suite_rows.txt 2>&1; echo "rows suite rc=$?"; grep -v "^{" $OUT/suite_rows.txt | tail -24
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 .device/row_sweep.py 65536 1000 softmax:f32 ln_fwd:f32 > $OUT/sweep.txt 2>&1; echo "sweep1 rc=$?"
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 .device/row_sweep.py 16384 4096 ln_fwd:f16 >> $OUT/sweep.txt 2>&1; echo "sweep2 rc=$?"
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 .device/row_sweep.py 4096 1000 softmax:f32 ln_fwd:f32 >> $OUT/sweep.txt 2>&1; echo "sweep3 rc=$?"
grep -v "^  failed\|Traceback\|^  File\|^    " $OUT/sweep.txt | cut -c1-230 | head -60
