#!/bin/bash
# Tenth session call 3: flash_exp2 A/B (05/06), flash GPU tests, ncu of 05 at d=64/128.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW timeout 200 python3 .device/exp_ab.py > $OUT/exp_ab.txt 2>&1; echo "ab rc=$?"; cat $OUT/exp_ab.txt | tail -14
PYTHONPATH=$NEW timeout 150 python3 -m pytest -q -x -p no:cacheprovider level2_transformer/tests/test_flash_cuda.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt
cat > /tmp/one.py <<'PY'
import sys, torch
from hyperion.kernels.suite import _cp
from hyperion.transformer.flash import cuda as fc
d = int(sys.argv[1]); q = _cp(torch.randn(4, 16, 4096, d, device="cuda", dtype=torch.float16))
for _ in range(3): fc.flash_forward_cuda(q, q, q)
torch.cuda.synchronize()
PY
for d in 64 128; do
PYTHONPATH=$NEW timeout 120 ncu -k regex:flash_fwd_pipe -c 1 -s 2 --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section InstructionStats --section Occupancy --metrics smsp__inst_executed_pipe_xu.sum,smsp__inst_executed.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,l1tex__data_pipe_lsu_wavefronts_mem_shared.sum,smsp__issue_active.avg.pct_of_peak_sustained_active python3 /tmp/one.py $d > $OUT/ncu_d$d.txt 2>&1; echo "ncu $d rc=$?"
done
grep -E "Duration|Issue Slots|Executed Ipc|pipe_xu|inst_executed.sum|hmma|wavefronts|issue_active|Stall|Registers|Achieved Occ|Theoretical Occ" $OUT/ncu_d*.txt | head -60
