#!/bin/bash
# Call 10: 09's dQ and dK/dV kernels timed apart per tile (causal and not).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 250 python3 .device/bwd_parts.py > $OUT/bwd_parts.txt 2>&1; echo "rc=$?"; grep -v "^{" $OUT/bwd_parts.txt | tail -14
