#!/bin/bash
# Twenty-sixth session, call 4: the tensor-core suite with 16 routed at 3072x5120x2048 (auto, kernel-only, call,
# GPU alone); the CUDA-graph test (the exit-time allocator error); FlashAttention's claims (repro, first recorded
# run); the whole matmul GPU file.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/smi.txt
S=$SECONDS
PYTHONPATH=$NEW timeout 90 python3 -m hyperion.kernels.suite --only tc --out $OUT/suite_tc > $OUT/suite_tc.txt 2>&1; echo "suite tc rc=$? $((SECONDS-S)) s"
grep -v "^{" $OUT/suite_tc.txt | grep -A10 -i "tensor" | cut -c1-220 | head -14
PYTHONPATH=$NEW timeout 60 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_cuda_graph_gpu.py > $OUT/cuda_graph.txt 2>&1; echo "cuda graph rc=$? $((SECONDS-S)) s"; cat $OUT/cuda_graph.txt | tail -5
PYTHONPATH=$NEW timeout 150 python3 -m hyperion.kernels.attention.repro --out $OUT/repro > $OUT/repro.txt 2>&1; echo "repro rc=$? $((SECONDS-S)) s"
grep -v "^{" $OUT/repro.txt | cut -c1-220 | tail -24
left=$((330 - SECONDS + S)); [ $left -lt 20 ] && left=1; PYTHONPATH=$NEW timeout $left python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_matmul_gpu.py > $OUT/matmul_gpu.txt 2>&1; echo "matmul gpu rc=$? $((SECONDS-S)) s"; tail -2 $OUT/matmul_gpu.txt; grep "^FAILED" $OUT/matmul_gpu.txt | head
