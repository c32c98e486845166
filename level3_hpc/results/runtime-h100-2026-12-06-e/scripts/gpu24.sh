#!/bin/bash
# Tenth session: 08 refactored onto flash_wgmma.cuh + 09 backward first run; level 2 flash tests (row_delta).
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
cat > /tmp/smoke.py <<'PY'
import cupy as cp, numpy as np
from hyperion.kernels import attention as fh
from hyperion.transformer.flash.naive import naive_attention_forward
for d in (64, 80, 96, 128):
    for causal in (False, True):
        rng = np.random.default_rng(0)
        q, k, v = (cp.asarray(rng.standard_normal((1, 2, 300, d))).astype(cp.float16) for _ in range(3))
        out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
        want, wl = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)), causal=causal)
        err = float(cp.abs(out.astype(cp.float64) - want).max()); lerr = float(cp.abs(lse - wl).max())
        print(d, causal, "max abs err", err, "lse err", lerr, flush=True)
PY
# (smoke skipped: budget)
PYTHONPATH=$NEW:level3_hpc/tests timeout 120 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py level2_transformer/tests/test_flash_cuda.py -k "wgmma or Function or (fp16_forward_backward and pipe64)" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt; grep -E "^FAILED|Error" $OUT/tests.txt | head -12
PYTHONPATH=$NEW timeout 170 python3 -m hyperion.kernels.suite --only flash --sweep --out /tmp/s > $OUT/suite_flash.txt 2>&1; echo "suite rc=$?"; grep -v "^{" $OUT/suite_flash.txt | tail -26
grep "^{" $OUT/suite_flash.txt | python3 -c "
import json,sys
for line in sys.stdin:
    r=json.loads(line)
    if 'd' not in r: continue
    sw={k[6:-1]:(round(v,3) if isinstance(v,float) else v) for k,v in r.items() if k.startswith('sweep[') and ('0' in k)}
    print(r['d'],r['N'],r['causal'],sw)"
