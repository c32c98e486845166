#!/bin/bash
# Twentieth session, last device seconds: on an H200 only, the fp32 softmax sweep at 65536x1000 and the rows suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
grep -q H200 $OUT/smi.txt || { echo "not an H200: nothing to run"; exit 0; }
S=$SECONDS
PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_rows > $OUT/suite_rows.txt 2>&1; echo "suite rc=$? $((SECONDS-S)) s"; grep -A8 "GPU time alone" $OUT/suite_rows.txt | cut -c1-160; grep -A8 "fraction of a device copy" $OUT/suite_rows.txt | cut -c1-160
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 TOP=6 timeout 75 python3 .device/row_sweep.py 65536 1000 softmax:f32 > $OUT/sweep_softmax.txt 2>&1; echo "sweep rc=$? $((SECONDS-S)) s"
grep -v "^  failed\|Traceback\|^  File\|^    \|precompile" $OUT/sweep_softmax.txt | sed 's/reload=0, //; s/smem_acc=0, //; s/two_pass=0, //; s/rounds \[[^]]*\] //; s/min_blocks=0, //; s/raw=0, //' | cut -c1-190 | tail -14
