#!/bin/bash
# GPU call 15 (ninth session): tests of the planned padded tensor-core path and add_scaled; host µs breakdown;
# bf16 suite; the MLP step old (50f2368) vs new in turns, 2 rounds.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/base
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1; cat $OUT/gpu.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 150 python3 -m pytest -q -x -p no:cacheprovider level3_hpc/tests/test_backend_gpu.py \
  level3_hpc/tests/test_matmul_gpu.py -k "tc_auto or cublas or kernels" level3_hpc/tests/test_fused_cross_entropy_gpu.py \
  > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -4 $OUT/tests.txt
PYTHONPATH=$NEW timeout 60 python3 .device/host2.py > $OUT/host2.txt 2>&1; cat $OUT/host2.txt
PYTHONPATH=$NEW timeout 120 python3 -m hyperion.kernels.suite --only tc --out /tmp/s > $OUT/suite_tc.txt 2>&1; echo "suite rc=$?"; tail -12 $OUT/suite_tc.txt
for r in 1 2; do for side in old new; do
  if [ $side = old ]; then P=$OLD; else P=$NEW; fi
  D=/tmp/mlp/$side$r; mkdir -p $D
  PYTHONPATH=$P timeout 45 python3 -m hyperion.runtime.bench_gpu --out $D --only mlp_graph > $D/log.txt 2>&1
  python3 -c "import json,sys; g=json.load(open(sys.argv[1]))['mlp_graph']; print(sys.argv[2], g['ms_best'], g['ms_all'], g['param_max_abs_diff_graph_vs_eager'])" $D/runtime_gpu.json $side$r >> $OUT/mlp_ab.txt 2>&1
done; done
cat $OUT/mlp_ab.txt
