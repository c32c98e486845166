#!/bin/bash
# Twentieth session, last call: flash host time measured below the launch queue's depth; on an H200 the rows
# suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 60 python3 .device/host_time.py > $OUT/host_time.txt 2>&1; echo "host time rc=$? $((SECONDS-S)) s"; cat $OUT/host_time.txt | cut -c1-200
if grep -q H200 $OUT/smi.txt; then
  PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only rows --out /tmp/s_rows > $OUT/suite_rows.txt 2>&1; echo "suite rc=$? $((SECONDS-S)) s"; grep -A8 "GPU time alone" $OUT/suite_rows.txt | cut -c1-160; grep -A8 "fraction of a device copy" $OUT/suite_rows.txt | cut -c1-160
fi
PYTHONPATH=$NEW:level3_hpc/tests timeout 40 python3 -m pytest -q -p no:cacheprovider --tb=short -W "error::DeprecationWarning:hyperion" level3_hpc/tests/test_allocator_gpu.py > $OUT/allocator_tests.txt 2>&1; echo "allocator tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/allocator_tests.txt
