export PYTHONUNBUFFERED=1
export PYTHONPATH=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:grader/src
timeout 60 ncu --clock-control none --nvtx --print-nvtx-rename none --kernel-name regex:layernorm_bwd --metrics gpu__time_duration.sum --csv python3 .device/lbr/ncu_lbr.py 64x1024xf32 128x1024xf32 37x37xf32 4096x64xf32 64x1024xf16 256x768xf16 > $OUT/ncu.csv 2>$OUT/ncu.err
timeout 30 python3 .device/lbr/bench_lbr.py 64x1024xf32 37x37xf32 2>&1 | tee $OUT/bench.txt
timeout 120 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_rows_gpu.py -k "one_launch or ln_bwd" 2>&1 | tail -4 | tee $OUT/pytest.txt
