// Zero-padded copies of C-contiguous matrices of 16-bit values (bf16 or fp16 bit patterns): in (R x C) -> out
// (RP x CP), RP >= R, CP a multiple of 8; out[r][c] = in[r][c] inside, 0 outside. It serves the tensor-core
// matmuls, whose fast path loads 16-byte (8-value) chunks of rows and so needs K and N multiples of 8 and
// 16-byte-aligned rows: an unaligned product (1001 x 999 @ 999 x 1003) becomes an aligned one on padded copies
// (the zeros add nothing to any dot product) instead of element-by-element loads, which ran at half the speed.
// One thread writes one 16-byte chunk of out (8 values: one coalesced 16-byte store) after 8 scalar loads (an
// input row starts anywhere, so its chunks are not aligned). crop32 below takes the padded product's first N
// columns when N was padded. The launches are planned once per shape (host time per launch, not these few
// megabytes, is what a 1000-sized product of this kind costs).
__device__ __forceinline__ void pad16_chunk(const unsigned short* __restrict__ in, unsigned short* __restrict__ out,
                                            int R, int C, int CP, long long i) {
    const int chunks = CP / 8;
    const int r = (int)(i / chunks), c0 = (int)(i % chunks) * 8;
    unsigned short v[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) v[e] = (r < R && c0 + e < C) ? in[(size_t)r * C + c0 + e] : (unsigned short)0;
    uint4 packed;
    packed.x = v[0] | ((unsigned)v[1] << 16);
    packed.y = v[2] | ((unsigned)v[3] << 16);
    packed.z = v[4] | ((unsigned)v[5] << 16);
    packed.w = v[6] | ((unsigned)v[7] << 16);
    reinterpret_cast<uint4*>(out)[i] = packed;
}

// Both operands of a product in one launch (host time: one launch, not two): the first RP1 * CP1 / 8 threads
// pad A (R1 x C1 -> RP1 x CP1), the rest pad B (R2 x C2 -> RP2 x CP2). A second matrix of 0 rows pads one.
extern "C" __global__ void pad16_pair(const unsigned short* __restrict__ a, unsigned short* __restrict__ ap,
                                      const unsigned short* __restrict__ b, unsigned short* __restrict__ bp, int R1,
                                      int C1, int RP1, int CP1, int R2, int C2, int RP2, int CP2) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long first = (long long)RP1 * (CP1 / 8);
    if (i < first)
        pad16_chunk(a, ap, R1, C1, CP1, i);
    else if (i - first < (long long)RP2 * (CP2 / 8))
        pad16_chunk(b, bp, R2, C2, CP2, i - first);
}

// The padded product's first N columns: in (M x NP fp32, the product of the padded operands) -> out (M x N).
// One thread per output element: consecutive threads read and write consecutive floats of a row.
extern "C" __global__ void crop32(const float* __restrict__ in, float* __restrict__ out, int M, int NP, int N) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)M * N) return;
    const int r = (int)(i / N), c = (int)(i % N);
    out[i] = in[(size_t)r * NP + c];
}
