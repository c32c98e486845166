// Zero-padded copy of a C-contiguous matrix of 16-bit values (bf16 or fp16 bit patterns): in (R x C) -> out
// (RP x CP), RP >= R, CP a multiple of 8; out[r][c] = in[r][c] inside, 0 outside. It serves the tensor-core
// matmuls, whose fast path loads 16-byte (8-value) chunks of rows and so needs K and N multiples of 8 and
// 16-byte-aligned rows: an unaligned product (1001 x 999 @ 999 x 1003) becomes an aligned one on padded copies
// (the zeros add nothing to any dot product) instead of element-by-element loads, which ran at half the speed.
// One thread writes one 16-byte chunk of out (8 values: one coalesced 16-byte store) after 8 scalar loads (an
// input row starts anywhere, so its chunks are not aligned). crop32 below takes the padded product's first N
// columns when N was padded. The launches are planned once per shape (host time per launch, not these few
// megabytes, is what a 1000-sized product of this kind costs).
extern "C" __global__ void pad16(const unsigned short* __restrict__ in, unsigned short* __restrict__ out, int R,
                                 int C, int RP, int CP) {
    const int chunks = CP / 8;
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)RP * chunks) return;
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

// The padded product's first N columns: in (M x NP fp32, the product of the padded operands) -> out (M x N).
// One thread per output element: consecutive threads read and write consecutive floats of a row.
extern "C" __global__ void crop32(const float* __restrict__ in, float* __restrict__ out, int M, int NP, int N) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)M * N) return;
    const int r = (int)(i / N), c = (int)(i % N);
    out[i] = in[(size_t)r * NP + c];
}
