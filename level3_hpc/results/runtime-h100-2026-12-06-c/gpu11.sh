#!/bin/bash
# GPU call 11: LayerNorm-backward two-pass sweep, row tests (two-pass backward), the rows suite with the winners.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1; cat $OUT/gpu.txt
PYTHONPATH=$NEW timeout 150 python3 .device/sweep2.py $OUT/winners.json > $OUT/sweep2.txt 2>&1; cat $OUT/sweep2.txt
echo skip-tests


PYTHONPATH=$NEW timeout 120 python3 .device/suite_with.py $OUT/winners.json --only rows --out /tmp/suite > $OUT/suite_log.txt 2>&1
echo "suite rc=$?"; cp /tmp/suite/suite.md $OUT/ 2>/dev/null; grep -A8 "kernel-only" $OUT/suite_log.txt | head -9
grep -A8 "GPU time alone" $OUT/suite_log.txt | head -9
