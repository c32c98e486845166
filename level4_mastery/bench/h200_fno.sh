#!/usr/bin/env bash
# One device call for issue 16 (FNO) on the H200: the CUDA step tests (graph step vs eager, CUDA training),
# Burgers s = 1024 speed and profile only (data, then our epoch vs the PyTorch twin; no training), then Darcy
# s = 85 on the full protocol (PCG data on the GPU, 500 epochs, lr halved every 100, speed, profile).
# Darcy trains with the CUDA graph step only if the graph-step test passed (else --no-graph).
# Run from the repo root. Writes fno.tar.gz (both result folders, logs) and pytest.txt to $OUT;
# render the report here with `python -m hyperion.repro.fno.report DIR`.
set -u
export PYTHONPATH=$PWD/level0_foundations/src:$PWD/level1_tensor/src:$PWD/level2_transformer/src:$PWD/level3_hpc/src:$PWD/level4_mastery/src:$PWD/grader/src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1 HYPERION_COMMIT=${HYPERION_COMMIT:-$(cat COMMIT 2>/dev/null || git rev-parse --short HEAD)}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; W=/tmp/fno; rm -rf $W; mkdir -p $W/burgers $W/darcy
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $W/gpu.txt
timeout 80 python3 -m pytest -q -p no:cacheprovider level4_mastery/tests/test_fno.py \
    -k "graph_step or cuda_training" 2>&1 | tail -25 | tee "$OUT/pytest.txt"
graph=""; grep -q " passed" "$OUT/pytest.txt" && ! grep -q -E "failed|error" "$OUT/pytest.txt" || graph="--no-graph"
echo "darcy training flags: ${graph:-graph step}" | tee -a "$OUT/pytest.txt"
timeout 70 python3 -m hyperion.repro.fno.run --experiment burgers --device cuda --epochs 0 --speed-epochs 3 \
    --profile --out $W/burgers > $W/burgers/log_burgers.txt 2>&1
tail -3 $W/burgers/log_burgers.txt
timeout ${DARCY_TIMEOUT:-420} python3 -m hyperion.repro.fno.run --experiment darcy --device cuda --darcy-solver pcg \
    --epochs 500 --step-size 100 --eval-every 10 --speed-epochs 3 --profile --budget ${DARCY_BUDGET:-400} $graph \
    --out $W/darcy > $W/darcy/log_darcy.txt 2>&1
tail -5 $W/darcy/log_darcy.txt
tar czf "$OUT/fno.tar.gz" -C $W .
