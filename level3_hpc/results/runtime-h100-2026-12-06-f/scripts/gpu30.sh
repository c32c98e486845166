#!/bin/bash
# Call 5: d = 96 flash tile sweeps (08/09 use d = 80's tiles there, never swept at 96).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 400 python3 .device/flash96.py > $OUT/flash96.txt 2>&1; echo "flash96 rc=$?"; cat $OUT/flash96.txt | tail -14
