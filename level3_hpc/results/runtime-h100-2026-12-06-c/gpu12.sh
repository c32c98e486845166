#!/bin/bash
# GPU call 12: issue 13's measures with the new code (GPT step, profiler, allocators, CUDA graph, MLP), then the
# MLP step old (9d5e1f8) vs new in turns.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/base
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
python3 -m pip install --no-index --find-links .whl/cupti cupti-python==13.0.1 > /dev/null 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1; cat $OUT/gpu.txt
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.runtime.bench_gpu --out /tmp/b --only graph profile allocators mlp_graph mlp_step \
  > $OUT/bench_log.txt 2>&1; echo "bench rc=$?"; cp /tmp/b/runtime_gpu.json $OUT/ 2>/dev/null
python3 - /tmp/b/runtime_gpu.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); p, g, m = d.get("profile", {}), d.get("graph", {}), d.get("mlp_graph", {})
print("profile", {k: p.get(k) for k in ("step_ms_profiler_off", "step_ms_profiler_on", "ops_share_of_wall", "torch_step_ms")})
print("graph", {k: g.get(k) for k in ("eager_step_ms", "graph_step_ms", "torch_step_ms", "losses_equal")})
print("mlp_graph", m.get("ms_best"), m.get("ms_all"))
a = d.get("allocators", {}); print("allocators", str(a)[:900])
PY
for r in 1 2; do for side in old new; do
  if [ $side = old ]; then P=$OLD; else P=$NEW; fi
  D=/tmp/mlp/$side$r; mkdir -p $D
  PYTHONPATH=$P timeout 40 python3 -m hyperion.runtime.bench_gpu --out $D --only mlp_graph > $D/log.txt 2>&1
  python3 -c "import json,sys; g=json.load(open(sys.argv[1]))['mlp_graph']; print(sys.argv[2], g['ms_best'], g['ms_all'])" $D/runtime_gpu.json $side$r >> $OUT/mlp_ab.txt
done; done
cat $OUT/mlp_ab.txt
