#!/bin/bash
# Call 1 (14th session): 15's host time with the kept per-stream workspace (old tree = HEAD 08ff847 in turns);
# 15 GPU tests; row candidate sweeps with the streaming-hint twins; fp32 LN bwd 4097 with W_SHIFT; rows tests.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
OLDH=level0_foundations/src:.device/old_host/level1_tensor/src:level2_transformer/src:.device/old_host/level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/f32s && mkdir -p /tmp/f32s && cp -r level3_hpc/src /tmp/f32s/ && sed -i 's/kind == "softmax" or dtype == "f32"/kind == "softmax" or (dtype == "f32" and kind != "ln_bwd")/' /tmp/f32s/src/hyperion/kernels/rows.py && grep -c 'kind != "ln_bwd")' /tmp/f32s/src/hyperion/kernels/rows.py
F32S=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/f32s/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_matmul_3xtf32_gpu.py level3_hpc/tests/test_matmul_gpu.py -k "3xtf32 or auto" > $OUT/tf32_tests.txt 2>&1; echo "tf32 tests rc=$?"; tail -3 $OUT/tf32_tests.txt
for i in 1 2; do
PYTHONPATH=$OLDH timeout 60 python3 -m hyperion.kernels.suite --only python --out /tmp/ho$i > $OUT/host_old$i.txt 2>&1; echo "old rc=$?"; grep "fp32 auto\|torch.softmax\|allocation alone" $OUT/host_old$i.txt | grep "^{"
PYTHONPATH=$NEW timeout 60 python3 -m hyperion.kernels.suite --only python --out /tmp/hn$i > $OUT/host_new$i.txt 2>&1; echo "new rc=$?"; grep "fp32 auto\|torch.softmax\|allocation alone" $OUT/host_new$i.txt | grep "^{"
done
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 120 python3 .device/row_sweep.py 65536 1000 softmax:f32 > $OUT/sweep.txt 2>&1; echo "sweep1 rc=$?"
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 120 python3 .device/row_sweep.py 16384 4096 ln_fwd:f16 softmax:f32 >> $OUT/sweep.txt 2>&1; echo "sweep2 rc=$?"
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 120 python3 .device/row_sweep.py 4096 1000 softmax:f32 ln_fwd:f16 >> $OUT/sweep.txt 2>&1; echo "sweep3 rc=$?"
PYTHONPATH=$F32S PYTHONUNBUFFERED=1 timeout 100 python3 .device/row_sweep.py 16384 4097 ln_bwd:f32 >> $OUT/sweep.txt 2>&1; echo "sweep4 rc=$?"
grep -v "^  failed" $OUT/sweep.txt | head -80
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_rows_gpu.py > $OUT/rows_tests.txt 2>&1; echo "rows tests rc=$?"; tail -3 $OUT/rows_tests.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 170 python3 .device/fwd_short.py > $OUT/fwd_short.txt 2>&1; echo "fwd short rc=$?"; cat $OUT/fwd_short.txt | tail -8
