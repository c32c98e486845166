// Demo: coalescing. y[i] = x[(i * stride) % n]. With stride 1 a warp's 32 loads fall in one 128-byte
// line (4 sectors, all bytes used); with stride 32 every lane hits its own sector and uses 4 of its 32
// bytes. ncu: smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct (global load efficiency).
extern "C" __global__ void demo_gather(const float* x, float* y, long long n, long long stride) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[(i * stride) % n];
}
