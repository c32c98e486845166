#!/bin/bash
# Twenty-third session, call 1: the whole shape suite on this card (flash, python host times, rows) after a
# parallel precompile; durations printed so later calls can be planned.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 170 python3 -m hyperion.kernels.suite --precompile > $OUT/precompile.txt 2>&1; echo "precompile rc=$? $((SECONDS-S)) s"; grep -ci fail $OUT/precompile.txt
PYTHONPATH=$NEW timeout 200 python3 -m hyperion.kernels.suite --only flash --out $OUT/s_flash > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -26 | cut -c1-200
PYTHONPATH=$NEW timeout 80 python3 -m hyperion.kernels.suite --only rows --out $OUT/s_rows > $OUT/suite_rows.txt 2>&1; echo "rows suite rc=$? $((SECONDS-S)) s"; grep -A8 "GPU time alone" $OUT/suite_rows.txt | cut -c1-160
PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only python --out $OUT/s_py > $OUT/suite_python.txt 2>&1; echo "python suite rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_python.txt | tail -20 | cut -c1-160
