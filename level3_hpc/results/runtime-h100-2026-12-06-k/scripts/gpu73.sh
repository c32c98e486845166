#!/bin/bash
# Call 2 (short): the flash suite with flash_forward_hopper's table (10 at d = 64, 128); then the ping-pong patch
# (scripts/pingpong.patch) in a copy of the tree: its tiles test and a bench against 10 without it.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 150 python3 -m hyperion.kernels.suite --only flash --out $OUT/suite_flash > $OUT/suite_flash.txt 2>&1; echo "suite flash rc=$? $((SECONDS-S)) s"; grep -v "^{" $OUT/suite_flash.txt | tail -26
rm -rf /tmp/pp && mkdir -p /tmp/pp && cp -r level3_hpc /tmp/pp/ && (cd /tmp/pp && patch -p1 < $OLDPWD/.device/pingpong.patch) | tail -2
PP=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/pp/level3_hpc/src:level4_mastery/src:grader/src
S=$SECONDS
PYTHONPATH=$PP PYTHONUNBUFFERED=1 timeout 60 python3 .device/tma_flash.py 128 8192,4096 > $OUT/pp_bench.txt 2>&1; echo "pp bench rc=$? $((SECONDS-S)) s"; grep -v "^built" $OUT/pp_bench.txt | cut -c1-200 | head -8
PYTHONPATH=$PP:level3_hpc/tests timeout 60 python3 -m pytest -q -p no:cacheprovider --tb=line /tmp/pp/level3_hpc/tests/test_flash_tma_gpu.py -k "tiles_agree or matches" > $OUT/pp_tests.txt 2>&1; echo "pp tests rc=$?"; tail -4 $OUT/pp_tests.txt | cut -c1-300
