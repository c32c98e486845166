#!/bin/bash
# Call 4: the fp32 sweep with matmul 15 among the candidates (call 3's sweep did not run: a bad cd).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 -m hyperion.kernels.suite --precompile --only matmul > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; grep -i fail $OUT/precompile.txt | head -5
PYTHONPATH=$NEW timeout 250 python3 -m hyperion.kernels.suite --only matmul --sweep --out /tmp/s2 > $OUT/suite_fp32_sweep.txt 2>&1; echo "sweep rc=$?"; grep -v "^{" $OUT/suite_fp32_sweep.txt | tail -14
