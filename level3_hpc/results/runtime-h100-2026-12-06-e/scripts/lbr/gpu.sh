set -u
export PYTHONUNBUFFERED=1
export PYTHONPATH=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:grader/src
nvidia-smi -L
K=level3_hpc/src/hyperion/kernels
( nvcc -gencode=arch=compute_90a,code=sm_90a -cubin -std=c++17 -I $K -DLAST_BLOCK_REDUCE=1 -DROW_THREADS=64 -DROW_BLOCK=256 -DCACHE=4 -DROW_DTYPE=1 -o /tmp/l.cubin $K/layernorm/14_bwd_row_regimes.cu --resource-usage 2>&1 | grep -A1 "bwd_rows_f32"
  cuobjdump -sass /tmp/l.cubin | grep -E "ATOM|MEMBAR|LDG|FADD|BAR|EXIT|BRA|STG" | awk '/ATOM/{f=1} f' | head -60 ) > $OUT/sass.txt 2>&1
timeout 120 python3 .device/lbr/bench_lbr.py 64x1024xf32 128x1024xf32 256x1024xf32 512x1024xf32 1024x1024xf32 \
  64x1024xf16 256x1024xf16 32x4096xf32 8x4096xf16 256x768xf32 16x16384xf16 4096x64xf32 37x37xf32 2>&1 | tee $OUT/bench.txt
nvidia-smi --query-gpu=clocks.sm,clocks.max.sm --format=csv
for t in racecheck synccheck; do timeout 50 compute-sanitizer --tool $t python3 .device/lbr/race.py 2>&1 | tail -6; done | tee $OUT/sanitizer.txt
timeout 240 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_rows_gpu.py 2>&1 | tail -15 | tee $OUT/pytest_rows_gpu.txt
