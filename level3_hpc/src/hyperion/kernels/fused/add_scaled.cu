// An optimizer's in-place update, target += alpha * x, for two C-contiguous fp32 arrays of one size: the same
// arithmetic as level 1's CuPy ElementwiseKernel (one fused multiply-add in fp32, alpha rounded to fp32 first),
// so the two give the same bits. It exists for host time, not GPU time: an SGD step on a small model is four of
// these, and CuPy's ElementwiseKernel spends ~15 µs of Python a call on the H100 hosts where a launch planned
// once per size (PackedLaunch) spends ~5. Grid-stride loop: the launcher caps the grid.
extern "C" __global__ void add_scaled(float* __restrict__ target, const float* __restrict__ x, float alpha, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        target[i] = fmaf(alpha, x[i], target[i]);
}
