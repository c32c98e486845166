#!/bin/bash
# Twenty-third session, call 4: on an H200 the whole suite (flash, rows, python, matmul, tc); on another card only
# the matmul and tc suites (their new GPU-time-alone columns).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
SECTIONS=matmul,tc
grep -q H200 $OUT/smi.txt && SECTIONS=flash,rows,python,matmul,tc
ONLY=${SECTIONS/python,/}
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --precompile --only $ONLY > /dev/null 2>&1; echo "precompile rc=$? $((SECONDS-S)) s"
PYTHONPATH=$NEW timeout 400 python3 -m hyperion.kernels.suite --only $SECTIONS --out $OUT/s > $OUT/suite.txt 2>&1; echo "suite rc=$? $((SECONDS-S)) s"
grep -v "^{" $OUT/suite.txt | grep -B2 -A12 "matmul vs\|FlashAtt" | cut -c1-220 | head -60
grep -A8 "GPU time alone (CUDA" $OUT/suite.txt | cut -c1-160 | head -10
