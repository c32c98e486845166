#!/bin/bash
# Twenty-fourth session, call 2 (re-ordered for a short budget): the whole profile --small under memcheck (the
# row kernels and Hopper matmuls now in it), FlashAttention's claims 1, 2, 4 with level 3's Hopper kernels, the
# matmul suite (fp32 GPU-alone column through PyTorch's cuBLAS), racecheck, tensor-core candidates by GPU time
# alone, level 2's repro quick (its refactor).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 90 compute-sanitizer --tool memcheck --print-limit 20 python3 -m hyperion.kernels.profile --small > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$? $((SECONDS-S)) s"
tail -4 $OUT/memcheck.txt | cut -c1-200; grep -c "^launched" $OUT/memcheck.txt
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.attention.repro --out $OUT/hopper > $OUT/repro_hopper.txt 2>&1; echo "repro hopper rc=$? $((SECONDS-S)) s"
grep -v "^{" $OUT/repro_hopper.txt | cut -c1-260 | tail -30
PYTHONPATH=$NEW timeout 70 python3 -m hyperion.kernels.suite --only matmul --out $OUT/s > $OUT/suite_mm.txt 2>&1; echo "suite rc=$? $((SECONDS-S)) s"
grep -v "^{" $OUT/suite_mm.txt | grep -A12 "fp32 matmul vs" | cut -c1-250
PYTHONPATH=$NEW timeout 70 compute-sanitizer --tool racecheck --print-limit 20 python3 -m hyperion.kernels.profile --small > $OUT/racecheck.txt 2>&1; echo "racecheck rc=$? $((SECONDS-S)) s"
tail -3 $OUT/racecheck.txt | cut -c1-200
PYTHONPATH=$NEW timeout 50 python3 .device/tc_alone.py > $OUT/tc_alone.txt 2>&1; echo "tc_alone rc=$? $((SECONDS-S)) s"; cut -c1-160 $OUT/tc_alone.txt
PYTHONPATH=$NEW timeout 40 python3 -m hyperion.transformer.flash.repro --quick --no-ncu --out $OUT/level2 > $OUT/repro_level2.txt 2>&1; echo "repro level2 rc=$? $((SECONDS-S)) s"
grep -v "^{" $OUT/repro_level2.txt | cut -c1-260 | tail -14
