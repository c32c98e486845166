#!/bin/bash
# Call 3: matmul 15 with the padded A tile (XOR swizzle gone) and bounds-free interior loads: tests, ablation,
# fp32 sweep; SASS instruction mix of the main loop.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 100 python3 -m hyperion.kernels.suite --precompile --only matmul > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; grep -i fail $OUT/precompile.txt | head -5
PYTHONPATH=$NEW:level3_hpc/tests timeout 120 python3 -m pytest -q -p no:cacheprovider --tb=short level3_hpc/tests/test_matmul_gpu.py -k "auto or split" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -E "^FAILED" $OUT/tests.txt | head
PYTHONPATH=$NEW PYTHONUNBUFFERED=1 timeout 150 python3 .device/ablate15.py > $OUT/ablate.txt 2>&1; echo "ablate rc=$?"; grep -v "^{" $OUT/ablate.txt | tail -20
cd level3_hpc/src/hyperion/kernels && for cfg in "-DBK=8 -DMINB=2" "-DBK=8 -DMINB=2 -DA_PAD=0 -DQUADS=0 -DFRAG_DB=0"; do nvcc -gencode=arch=compute_90,code=sm_90 -cubin -std=c++17 -I . $cfg matmul/15_conflict_free.cu -o /tmp/k.cubin && cuobjdump -sass /tmp/k.cubin > /tmp/k.sass && echo "$cfg: $(grep -cE '^\s+/\*[0-9a-f]+\*/' /tmp/k.sass) instr, FFMA $(grep -c FFMA /tmp/k.sass), LDS $(grep -c 'LDS' /tmp/k.sass), STS $(grep -c STS /tmp/k.sass), LDG $(grep -c LDG /tmp/k.sass), IMAD/IADD/LOP $(grep -cE 'IMAD|IADD|LOP|LEA|SHF' /tmp/k.sass), BAR $(grep -c BAR /tmp/k.sass)"; done | tee $OUT/sass_mix.txt; cd /work 2>/dev/null; cd - >/dev/null
PYTHONPATH=$NEW timeout 200 python3 -m hyperion.kernels.suite --only matmul --sweep --out /tmp/s2 > $OUT/suite_fp32_sweep.txt 2>&1; echo "sweep rc=$?"; grep -v "^{" $OUT/suite_fp32_sweep.txt | tail -14
