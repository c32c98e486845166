#!/bin/bash
# GPU call 7 (2026-12-06 session 7): tests, MLP old/new, host profile, GPT old/new.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/base
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
python3 -m pip install --no-index --find-links .whl/cupti cupti-python==13.0.1 > $OUT/pip.txt 2>&1
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1
PYTHONPATH=$NEW timeout 240 python3 -m pytest -q -p no:cacheprovider \
  level3_hpc/tests/test_fused_cross_entropy_gpu.py level3_hpc/tests/test_backend_gpu.py level1_tensor/tests/test_cuda.py \
  level3_hpc/tests/test_fused_gpu.py level3_hpc/tests/test_lazy_gpu.py level3_hpc/tests/test_cuda_graph_gpu.py \
  level3_hpc/tests/test_device_timeline_gpu.py \
  > $OUT/pytest.txt 2>&1; echo "rc=$?" >> $OUT/pytest.txt
tail -15 $OUT/pytest.txt
for r in 1 2 3; do for side in old new; do
  if [ $side = old ]; then P=$OLD; else P=$NEW; fi
  D=/tmp/mlp/$side$r; mkdir -p $D
  PYTHONPATH=$P timeout 60 python3 -m hyperion.runtime.bench_gpu --out $D --only mlp_graph mlp_step > $D/log.txt 2>&1
  python3 - $D/runtime_gpu.json $side$r >> $OUT/mlp_ab.txt <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); g = d.get("mlp_graph", {}); m = d.get("mlp_step", "")
print(sys.argv[2], g.get("ms_best"), " | ", " ".join(str(m).split("\n")[-3:]))
PY
done; done
cat $OUT/mlp_ab.txt
PYTHONPATH=$NEW timeout 60 python3 .device/mlp_host.py > $OUT/mlp_host_new.txt 2>&1
PYTHONPATH=$OLD timeout 60 python3 .device/mlp_host.py > $OUT/mlp_host_old.txt 2>&1
head -3 $OUT/mlp_host_new.txt $OUT/mlp_host_old.txt
for r in 1 2; do for side in old new; do
  if [ $side = old ]; then P=$OLD; else P=$NEW; fi
  D=/tmp/ab/$side$r; mkdir -p $D
  PYTHONPATH=$P timeout 90 python3 -m hyperion.runtime.bench_gpu --out $D --only profile graph > $D/log.txt 2>&1
  python3 - $D/runtime_gpu.json $side$r >> $OUT/gpt_ab.txt <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); p, g = d["profile"], d["graph"]
t = p["device_timeline"]
print(f"{sys.argv[2]} off {p['step_ms_profiler_off']:.2f} on {p['step_ms_profiler_on']:.2f} cov {p['ops_share_of_wall']:.3f} torch {p['torch_step_ms']:.2f} kernels {t['kernels']} memsets {t['memsets']} | graph eager {g['eager_step_ms']:.2f} graph {g['graph_step_ms']:.2f} torch {g['torch_step_ms']:.2f} eq {g['losses_equal']}")
PY
done; done
cat $OUT/gpt_ab.txt
