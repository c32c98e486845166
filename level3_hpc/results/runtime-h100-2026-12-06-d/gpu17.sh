#!/bin/bash
# GPU call 17 (ninth session): cuBLASLt planned matmuls -- tests (backend, graphs, fused, FNO graph step), host µs,
# the MLP step old (50f2368) vs new in turns (3 rounds), the GPT step eager and graphed.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/base
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1; cat $OUT/gpu.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 200 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_backend_gpu.py \
  level3_hpc/tests/test_cuda_graph_gpu.py level3_hpc/tests/test_fused_cross_entropy_gpu.py level3_hpc/tests/test_lazy_gpu.py \
  level4_mastery/tests/test_fno.py -k "not test_model_matches_its_torch_twin" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; grep -E "passed|failed|Error" $OUT/tests.txt | tail -8
PYTHONPATH=$NEW timeout 60 python3 .device/host2.py > $OUT/host2.txt 2>&1; cat $OUT/host2.txt
PYTHONPATH=$NEW timeout 60 python3 .device/mm_host.py > $OUT/mm_host.txt 2>&1; cat $OUT/mm_host.txt
for r in 1 2 3; do for side in old new; do
  if [ $side = old ]; then P=$OLD; else P=$NEW; fi
  D=/tmp/mlp/$side$r; mkdir -p $D
  PYTHONPATH=$P timeout 45 python3 -m hyperion.runtime.bench_gpu --out $D --only mlp_graph > $D/log.txt 2>&1
  python3 -c "import json,sys; g=json.load(open(sys.argv[1]))['mlp_graph']; print(sys.argv[2], g['ms_best'], g['ms_all'], g['param_max_abs_diff_graph_vs_eager'])" $D/runtime_gpu.json $side$r >> $OUT/mlp_ab.txt 2>&1
done; done
cat $OUT/mlp_ab.txt
PYTHONPATH=$NEW timeout 100 python3 -m hyperion.runtime.bench_gpu --out /tmp/g --only graph > $OUT/graph_log.txt 2>&1; echo "graph rc=$?"
python3 -c "import json; g=json.load(open('/tmp/g/runtime_gpu.json'))['graph']; print({k: g.get(k) for k in ('eager_step_ms','graph_step_ms','torch_step_ms','eager_over_torch_speed','graph_over_torch_speed','max_rel_grad_diff')})" | tee $OUT/graph.txt
