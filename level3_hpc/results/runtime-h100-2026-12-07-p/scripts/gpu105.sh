#!/bin/bash
# Twenty-first session, call 7: 08 against 10 (waits ahead of the fence) at d = 80 and 96, three of 10's tiles.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 150 python3 .device/fwd_80_96.py > $OUT/fwd_80_96.txt 2>&1; echo "rc=$? $((SECONDS-S)) s"; cat $OUT/fwd_80_96.txt | cut -c1-200
