#!/bin/bash
# GPU call 10 (2026-12-06 session 8): tests of the MLP-step changes, MLP old (9d5e1f8) vs new, host profiles,
# the LayerNorm-backward sweep with the new candidates, the rows suite with the host-time table.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
B=.device/base
OLD=$B/level0_foundations/src:$B/level1_tensor/src:$B/level2_transformer/src:$B/level3_hpc/src:$B/level4_mastery/src:$B/grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/gpu.txt 2>&1
cat $OUT/gpu.txt
PYTHONPATH=$NEW timeout 150 python3 -m pytest -q -p no:cacheprovider -x \
  level3_hpc/tests/test_fused_cross_entropy_gpu.py level3_hpc/tests/test_backend_gpu.py level1_tensor/tests/test_cuda.py \
  level3_hpc/tests/test_fused_gpu.py level3_hpc/tests/test_cuda_graph_gpu.py \
  > $OUT/pytest.txt 2>&1; echo "rc=$?" >> $OUT/pytest.txt
tail -6 $OUT/pytest.txt
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
cp /tmp/mlp/new3/runtime_gpu.json $OUT/mlp_new3.json
cat $OUT/mlp_ab.txt
PYTHONPATH=$NEW timeout 60 python3 .device/mlp_host.py > $OUT/mlp_host_new.txt 2>&1
head -3 $OUT/mlp_host_new.txt
PYTHONPATH=$NEW timeout 60 python3 .device/ln_host.py > $OUT/ln_host.txt 2>&1
head -14 $OUT/ln_host.txt
PYTHONPATH=$NEW timeout 90 python3 .device/sweep_bwd.py 16384 4097 > $OUT/sweep_4097.txt 2>&1
PYTHONPATH=$NEW timeout 60 python3 .device/sweep_bwd.py 4096 1000 > $OUT/sweep_1000.txt 2>&1
head -8 $OUT/sweep_4097.txt $OUT/sweep_1000.txt
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.suite --only rows,python --out $OUT/suite > $OUT/suite_log.txt 2>&1
echo "suite rc=$?"; tail -30 $OUT/suite_log.txt | cut -c1-200
