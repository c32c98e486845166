#!/bin/bash
# GPU call 18 (ninth session): the folded batch product's tests; the GPT step old (50f2368) vs new in turns.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/base
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1; cat $OUT/gpu.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 100 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_backend_gpu.py \
  level3_hpc/tests/test_cuda_graph_gpu.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; grep -E "passed|failed|Error" $OUT/tests.txt | tail -8
for r in 1 2; do for side in old new; do
  if [ $side = old ]; then P=$OLD; else P=$NEW; fi
  D=/tmp/gpt/$side$r; mkdir -p $D
  PYTHONPATH=$P timeout 100 python3 -m hyperion.runtime.bench_gpu --out $D --only graph > $D/log.txt 2>&1
  python3 -c "import json,sys; g=json.load(open(sys.argv[1]))['graph']; print(sys.argv[2], {k: g.get(k) for k in ('eager_step_ms','graph_step_ms','torch_step_ms','eager_over_torch_speed','graph_over_torch_speed','eager_ms_all','torch_ms_all')})" $D/runtime_gpu.json $side$r >> $OUT/gpt_ab.txt 2>&1
done; done
cat $OUT/gpt_ab.txt
