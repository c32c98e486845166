#!/bin/bash
# Twenty-sixth session: matmul 14's new 128x64 tiles (TMA_CONFIGS[3]) and the new 16_wgmma_persistent: GPU tests,
# sanitizers on 16 walking many tiles, then the tensor-core suite with every configuration swept (kernel-only).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 150 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_matmul_gpu.py -k "tma_kernel or persistent or tc_auto or tma_refuses" > $OUT/tc_tests.txt 2>&1; echo "tc tests rc=$? $((SECONDS-S)) s"; tail -3 $OUT/tc_tests.txt; grep -E "^FAILED|Error" $OUT/tc_tests.txt | head -5
cat > /tmp/p16.py <<'PY'
import cupy, numpy as np
from hyperion.kernels.matmul.tma import TMA_CONFIGS, matmul_tma
from hyperion.tensor.cuda_build import to_bf16_bits, from_bf16_bits
for cfg in (TMA_CONFIGS[0], TMA_CONFIGS[3]):
    a = to_bf16_bits(cupy.random.standard_normal((300, 136), dtype=np.float32))
    b = to_bf16_bits(cupy.random.standard_normal((136, 520), dtype=np.float32))
    c = matmul_tma(a, b, "bf16", cfg, version="16_wgmma_persistent", blocks=2)
    want = from_bf16_bits(a).astype(np.float64) @ from_bf16_bits(b).astype(np.float64)
    print(cfg, float(abs(c - want).max()))
PY
for tool in memcheck racecheck; do
  CUPY_CACHE_DIR=/tmp/cc PYTHONPATH=$NEW timeout 60 compute-sanitizer --tool $tool python3 /tmp/p16.py > $OUT/san_$tool.txt 2>&1; echo "$tool rc=$? $((SECONDS-S)) s"; tail -3 $OUT/san_$tool.txt
done
PYTHONPATH=$NEW timeout 260 python3 -m hyperion.kernels.suite --only tc --sweep --out $OUT/suite_tc > $OUT/suite_tc.txt 2>&1; echo "suite rc=$? $((SECONDS-S)) s"
python3 - <<'PY'
import json, os
for line in open(os.environ["OUT"] + "/suite_tc.txt"):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    cells = {k: v for k, v in r.items() if k.startswith("sweep[14") or k.startswith("sweep[16")}
    print(r["shape"], "cublas", round(r["cublas_bf16_ms"], 4), "auto", round(r["ours_ms"], 4), r["ours_choice"],
          " ".join(f"{k[6:-1]}={v if isinstance(v, str) else round(v, 4)}" for k, v in cells.items()))
PY
