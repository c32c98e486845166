#!/bin/bash
# Call 8: the flash suite with CAUSAL_GROUP = 16 and d = 96's tiles (d 64/80/128 as the issue's suite, then 96).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 250 python3 -m hyperion.kernels.suite --only flash --out /tmp/s3 > $OUT/suite_flash.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite_flash.txt | tail -26
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 150 python3 .device/ablate15.py --flash96-only > $OUT/flash96.txt 2>&1; echo "flash96 rc=$?"; grep "^d=96" $OUT/flash96.txt
