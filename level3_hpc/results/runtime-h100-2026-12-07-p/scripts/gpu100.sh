#!/bin/bash
# Twenty-first session, call 2: 11_flash_bwd_tma (new) -- build, GPU tests (and 09's and 10's, whose tile
# arithmetic / tile loads moved to shared headers), then 11 against 09 at B=4 H=16 fp16 over d, N, causal and
# 11's candidate tiles; and 09 of the tree before (HEAD's src, .device/old_src) against 09 now.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:.device/old_src/level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 150 python3 .device/bwd_tma_bench.py --compile-only 2>&1 | tail -5; echo "compile $((SECONDS-S)) s"
PYTHONPATH=$NEW:level3_hpc/tests timeout 170 python3 -m pytest -q -p no:cacheprovider --tb=short --maxfail=4 level3_hpc/tests/test_flash_bwd_tma_gpu.py > $OUT/tests_11.txt 2>&1; echo "tests 11 rc=$? $((SECONDS-S)) s"; tail -25 $OUT/tests_11.txt | cut -c1-300
grep -q " passed" $OUT/tests_11.txt && ! grep -q "failed\|error" $OUT/tests_11.txt || { echo "11 not green: no bench"; exit 0; }
PYTHONPATH=$NEW timeout 200 python3 .device/bwd_tma_bench.py > $OUT/bench_11.txt 2>&1; echo "bench rc=$? $((SECONDS-S)) s"; cat $OUT/bench_11.txt | cut -c1-250
PYTHONPATH=$OLD ONLY09=1 timeout 100 python3 .device/bwd_tma_bench.py > $OUT/bench_09_old.txt 2>&1; echo "bench old 09 rc=$? $((SECONDS-S)) s"; cut -d'|' -f2-5 $OUT/bench_09_old.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 100 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_tma_gpu.py level3_hpc/tests/test_flash_wgmma_gpu.py -k "tma or backward" > $OUT/tests_09_10.txt 2>&1; echo "tests 09/10 rc=$? $((SECONDS-S)) s"; tail -3 $OUT/tests_09_10.txt
