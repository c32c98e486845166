#!/bin/bash
# Call 4 (14th session): the rows suite with the copy-speed table; then GPU tests of the launch plumbing, as time allows.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 110 python3 -m hyperion.kernels.suite --only rows --out /tmp/sr > $OUT/suite_rows.txt 2>&1; echo "rows suite rc=$?"; grep -v "^{" $OUT/suite_rows.txt | tail -32
PYTHONPATH=$NEW:level3_hpc/tests timeout 50 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_fused_gpu.py level3_hpc/tests/test_backend_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt
