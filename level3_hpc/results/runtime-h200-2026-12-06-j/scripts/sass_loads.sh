#!/bin/bash
# Are a kernel's 16-byte loads all in flight before its values are used? Compile one row-kernel configuration
# and count the instructions between its first and last global load that consume loaded registers (MOV/FSEL).
# usage: sass_loads.sh KERNEL_ROOT SOURCE "-DROW_THREADS=32 -DROW_BLOCK=128 -DCACHE=8 -DROW_DTYPE=1"
# cuobjdump: pip download nvidia-cuda-cuobjdump (the CUDA 13 wheel), unzip, nvidia/cu13/bin/cuobjdump
CUOBJ=${CUOBJ:-/tmp/nvd/x/nvidia/cu13/bin/cuobjdump}
cd "$1" && nvcc -arch=sm_90 -cubin -std=c++17 -I. $3 "$2" -o /tmp/sass_loads.cubin || exit 1
$CUOBJ -sass /tmp/sass_loads.cubin | grep -E "^\s+/\*[0-9a-f]{4}\*/" | sed -E 's/^\s+\/\*[0-9a-f]+\*\/\s+//; s/ ;.*//' > /tmp/sass_loads.ops
first=$(grep -n "LDG" /tmp/sass_loads.ops | head -1 | cut -d: -f1); last=$(grep -n "LDG" /tmp/sass_loads.ops | tail -1 | cut -d: -f1)
echo "LDG lines $first..$last; MOV between: $(sed -n "${first},${last}p" /tmp/sass_loads.ops | grep -c MOV); FSEL between: $(sed -n "${first},${last}p" /tmp/sass_loads.ops | grep -c FSEL)"
