export PYTHONPATH=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:grader/src
timeout 200 ncu --clock-control none --nvtx --print-nvtx-rename none --kernel-name regex:layernorm_bwd --metrics gpu__time_duration.sum --csv python3 .device/lbr/ncu_lbr.py 64x1024xf32 128x1024xf32 256x1024xf32 37x37xf32 4096x64xf32 64x1024xf16 8x4096xf16 > $OUT/ncu.csv 2>$OUT/ncu.err
tail -3 $OUT/ncu.err; wc -l $OUT/ncu.csv
