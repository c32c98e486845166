#!/bin/bash
# Call 2 (14th session): row candidate sweeps with the streaming twins (fixed main guard); fp32 LN bwd 4097
# with W_SHIFT; flash GPU tests (d = 128's short tile now the default at short N); the flash suite.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/f32s && mkdir -p /tmp/f32s && cp -r level3_hpc/src /tmp/f32s/ && sed -i 's/kind == "softmax" or dtype == "f32"/kind == "softmax" or (dtype == "f32" and kind != "ln_bwd")/' /tmp/f32s/src/hyperion/kernels/rows.py && grep -c 'kind != "ln_bwd")' /tmp/f32s/src/hyperion/kernels/rows.py
F32S=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/f32s/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 .device/row_sweep.py 65536 1000 softmax:f32 > $OUT/sweep.txt 2>&1; echo "sweep1 rc=$?"
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 .device/row_sweep.py 16384 4096 ln_fwd:f16 softmax:f32 >> $OUT/sweep.txt 2>&1; echo "sweep2 rc=$?"
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 .device/row_sweep.py 4096 1000 softmax:f32 ln_fwd:f16 >> $OUT/sweep.txt 2>&1; echo "sweep3 rc=$?"
PYTHONPATH=$F32S PYTHONUNBUFFERED=1 timeout 80 python3 .device/row_sweep.py 16384 4097 ln_bwd:f32 >> $OUT/sweep.txt 2>&1; echo "sweep4 rc=$?"
grep -v "^  failed\|Traceback\|^  File\|^    " $OUT/sweep.txt | head -70
PYTHONPATH=$NEW:level3_hpc/tests timeout 120 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py > $OUT/flash_tests.txt 2>&1; echo "flash tests rc=$?"; tail -3 $OUT/flash_tests.txt
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --only flash --out /tmp/sf > $OUT/suite_flash.txt 2>&1; echo "flash suite rc=$?"; grep -v "^{" $OUT/suite_flash.txt | tail -25
