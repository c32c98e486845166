#!/bin/bash
# Twenty-fourth session, last call (little device time left): the whole profile --small under memcheck, then
# FlashAttention's claims 1, 2, 4 with level 3's Hopper kernels, quick (N 128-4096, causal 1024).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 80 compute-sanitizer --tool memcheck --print-limit 20 python3 -m hyperion.kernels.profile --small > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$? $((SECONDS-S)) s"
tail -4 $OUT/memcheck.txt | cut -c1-200; grep -c "^launched" $OUT/memcheck.txt
PYTHONPATH=$NEW timeout 90 python3 -m hyperion.kernels.attention.repro --quick --out $OUT/hopper > $OUT/repro_hopper.txt 2>&1; echo "repro hopper rc=$? $((SECONDS-S)) s"
grep -v "^{" $OUT/repro_hopper.txt | cut -c1-260 | tail -24
