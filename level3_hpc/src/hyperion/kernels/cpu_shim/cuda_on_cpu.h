// CUDA on the CPU: the header g++ reads before a kernel source (see hyperion/kernels/emulate.py).
//
// Each CUDA thread of a block is a fiber (ucontext) on one OS thread; a scheduler runs a fiber until it
// waits at a barrier (__syncthreads, or a warp collective: shuffle, __syncwarp, ballot), then the next
// one; a barrier opens when every thread it names has arrived. Blocks run one after another. Shared
// memory: a static __shared__ array is one C++ static (the blocks run in turn, so it is the block's own;
// it keeps the previous block's values); extern __shared__ is a per-launch buffer filled with 0xff bytes
// (NaN as floats) before each block, with 4 KiB more of them after its end: a write there is an error. Shuffles go through a per-warp exchange buffer between two warp
// barriers and follow PTX's shfl rules (width, clamping); a lane that reads a lane outside the mask, a
// barrier some threads never reach (early return, divergent __syncthreads) and a device assert are errors
// reported to Python, not hangs. Not modelled: races (a fiber runs alone until it waits), the memory model,
// bounds (an out-of-range access corrupts or crashes the process), FMA contraction, fast-math intrinsics
// (__expf is expf), partial-warp masks that change between collectives, speed.
#pragma once

#include <ucontext.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

// ---- vector types and the built-in variables -----------------------------------------------------------
struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(8) uint2 { unsigned x, y; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct alignas(16) double2 { double x, y; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline uint3 threadIdx, blockIdx;  // set by the scheduler before it resumes a fiber
inline dim3 blockDim, gridDim;
constexpr int warpSize = 32;

// ---- the scheduler ---------------------------------------------------------------------------------------
namespace emu {
struct Barrier {
    int arrived = 0;
    unsigned generation = 0;
};
struct Fiber {
    ucontext_t context;
    uint3 index;
    int linear = 0;
    bool done = false;
    Barrier* waiting = nullptr;  // the barrier this fiber waits at, until its generation moves on
    unsigned generation = 0;
    const char* where = "";
};
struct WarpBarriers {  // one barrier per mask a warp's collectives use
    unsigned masks[8];
    Barrier barriers[8];
    int count = 0;
};
using Kernel = void (*)();
inline ucontext_t scheduler;
inline std::vector<Fiber> fibers;
inline Fiber* current = nullptr;
inline Barrier block_barrier;
inline std::vector<WarpBarriers> warp_barriers;  // per warp
inline std::vector<uint64_t> exchange;           // 32 slots per warp
inline std::vector<unsigned char> shared_bytes;  // extern __shared__
inline Kernel kernel;                            // this launch's kernel, its arguments, and how to call it
inline void** arguments;
inline void (*invoke)(Kernel, void**);
inline char error[1024];
constexpr size_t STACK = 256 * 1024;
constexpr size_t SLACK = 4096;  // bytes past the end of dynamic shared memory, checked after each block

inline void* dynamic_shared() { return shared_bytes.data(); }

[[gnu::format(printf, 1, 2)]] inline void say(const char* format, ...) {  // append to `error`
    const size_t n = std::strlen(error);
    va_list args;
    va_start(args, format);
    std::vsnprintf(error + n, sizeof error - n, format, args);
    va_end(args);
}

[[noreturn, gnu::format(printf, 1, 2)]] inline void fail(const char* format, ...) {
    if (!error[0]) {
        va_list args;
        va_start(args, format);
        std::vsnprintf(error, sizeof error, format, args);
        va_end(args);
        say(" (block %u,%u,%u thread %u,%u,%u)", blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y,
            threadIdx.z);
    }
    swapcontext(&current->context, &scheduler);  // never resumed
    std::abort();
}

inline void arrive(Barrier& b, int expected, const char* where) {
    if (++b.arrived == expected) {  // the last one: open the barrier, carry on
        b.arrived = 0;
        ++b.generation;
        return;
    }
    current->waiting = &b;
    current->generation = b.generation;
    current->where = where;
    swapcontext(&current->context, &scheduler);
}

inline int lane() { return current->linear % 32; }
inline int warp() { return current->linear / 32; }
inline unsigned present_lanes() {  // lanes of this warp that exist (the last warp may be partial)
    const int n = (int)fibers.size() - 32 * warp();
    return n >= 32 ? 0xffffffffu : (1u << n) - 1u;
}

inline void warp_sync(unsigned mask, const char* where) {
    if (!(mask >> lane() & 1u)) fail("a warp collective: the calling lane %d is not in its mask", lane());
    WarpBarriers& w = warp_barriers[warp()];
    int i = 0;
    while (i < w.count && w.masks[i] != mask) ++i;
    if (i == w.count) {
        if (w.count == 8) fail("a warp used more than %d different masks", 8);
        w.masks[w.count++] = mask;
    }
    arrive(w.barriers[i], __builtin_popcount(mask & present_lanes()), where);
}

enum class Shfl { idx, up, down, bfly };

template <typename T>
T shuffle(unsigned mask, T value, int b, int width, Shfl mode, const char* where) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move 4- or 8-byte values");
    if (width < 1 || width > 32 || (width & (width - 1))) fail("a shuffle's width must be a power of two <= 32, got %d", width);
    uint64_t* slots = &exchange[32 * warp()];
    const int me = lane();
    std::memcpy(&slots[me], &value, sizeof(T));
    warp_sync(mask, where);
    const int seg = 32 - width, lo = me & seg, hi = lo | (31 & ~seg);  // PTX shfl.sync: c = ((32 - width) << 8) | 31
    b &= 31;
    int src = me;
    if (mode == Shfl::idx) src = lo | (b & ~seg & 31);
    if (mode == Shfl::up) src = me - b >= lo ? me - b : me;
    if (mode == Shfl::down) src = me + b <= hi ? me + b : me;
    if (mode == Shfl::bfly) src = (me ^ b) <= hi ? me ^ b : me;
    if (!((mask & present_lanes()) >> src & 1u)) fail("a shuffle: lane %d reads lane %d, which is not in the mask", me, src);
    T out;
    std::memcpy(&out, &slots[src], sizeof(T));
    warp_sync(mask, where);  // nobody overwrites a slot before every lane has read
    return out;
}

inline unsigned ballot(unsigned mask, int predicate, const char* where) {
    uint64_t* slots = &exchange[32 * warp()];
    slots[lane()] = predicate != 0;
    warp_sync(mask, where);
    unsigned bits = 0;
    for (int i = 0; i < 32; ++i)
        if ((mask & present_lanes()) >> i & 1u) bits |= (slots[i] ? 1u : 0u) << i;
    warp_sync(mask, where);
    return bits;
}

inline void fiber_main() {
    invoke(kernel, arguments);
    current->done = true;  // returning resumes the scheduler (uc_link)
}

// Every block of the grid in turn; each block's threads as fibers until all are done. 0, or -1 and `error`.
inline int run(const unsigned* dims, size_t shared_size) {
    const dim3 grid{dims[0], dims[1], dims[2]}, block{dims[3], dims[4], dims[5]};
    const int threads = (int)(block.x * block.y * block.z);
    error[0] = 0;
    gridDim = grid, blockDim = block;
    fibers.assign(threads, Fiber{});
    warp_barriers.assign((threads + 31) / 32, WarpBarriers{});
    exchange.assign(32 * ((threads + 31) / 32), 0);
    shared_bytes.assign(shared_size + SLACK, 0);
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char* stacks = (char*)mmap(nullptr, STACK * threads, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stacks == MAP_FAILED) return say("could not map the fibers' stacks"), -1;
    for (int t = 0; t < threads; ++t) mprotect(stacks + STACK * t, page, PROT_NONE);  // overflow: a fault
    int status = 0;
    for (unsigned bz = 0; bz < grid.z && !status; ++bz)
        for (unsigned by = 0; by < grid.y && !status; ++by)
            for (unsigned bx = 0; bx < grid.x && !status; ++bx) {
                blockIdx = {bx, by, bz};
                block_barrier = Barrier{};
                warp_barriers.assign(warp_barriers.size(), WarpBarriers{});
                std::memset(shared_bytes.data(), 0xff, shared_bytes.size());
                for (int t = 0; t < threads; ++t) {
                    Fiber& f = fibers[t];
                    f = Fiber{};
                    f.linear = t;
                    f.index = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
                    getcontext(&f.context);
                    f.context.uc_stack.ss_sp = stacks + STACK * t;
                    f.context.uc_stack.ss_size = STACK;
                    f.context.uc_link = &scheduler;
                    makecontext(&f.context, fiber_main, 0);
                }
                for (;;) {
                    bool ran = false, all_done = true;
                    for (Fiber& f : fibers) {
                        if (f.done) continue;
                        all_done = false;
                        if (f.waiting && f.waiting->generation == f.generation) continue;
                        f.waiting = nullptr;
                        current = &f;
                        threadIdx = f.index;
                        swapcontext(&scheduler, &f.context);
                        ran = true;
                        if (error[0]) break;
                    }
                    if (error[0]) {
                        status = -1;
                        break;
                    }
                    if (all_done) {
                        for (size_t i = shared_size; i < shared_bytes.size(); ++i)
                            if (shared_bytes[i] != 0xff) {
                                say("block (%u,%u,%u) wrote past the end of its %zu bytes of dynamic shared memory",
                                    bx, by, bz, shared_size);
                                status = -1;
                                break;
                            }
                        break;
                    }
                    if (!ran) {  // everyone left waits at a barrier that cannot open
                        const char* places[8] = {};  // where the threads wait (a few distinct names)
                        int waiting[8] = {}, exited = 0;
                        for (Fiber& f : fibers) {
                            int i = 0;
                            while (i < 7 && places[i] && std::strcmp(places[i], f.where)) ++i;
                            places[i] = f.where;
                            f.done ? ++exited : ++waiting[i];
                        }
                        say("deadlock in block (%u,%u,%u): ", bx, by, bz);
                        for (int i = 0; i < 8; ++i)
                            if (waiting[i]) say("%d threads wait at %s, ", waiting[i], places[i]);
                        say("%d threads have returned", exited);
                        status = -1;
                        break;
                    }
                }
            }
    munmap(stacks, STACK * threads);
    current = nullptr;
    return status;
}

// The kernel's parameter types as letters for Python: p pointer, i int32, I uint32, q int64, f float, d double.
template <typename T>
constexpr char code() {
    if constexpr (std::is_pointer_v<T>) return 'p';
    else if constexpr (std::is_same_v<T, float>) return 'f';
    else if constexpr (std::is_same_v<T, double>) return 'd';
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) return 'q';
    else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) return 'I';
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) return 'i';
    else return '?';
}
template <typename... A>
const char* signature(void (*)(A...)) {
    static const char letters[] = {code<A>()..., '\0'};
    return letters;
}
template <typename... A, size_t... I>
void call(void (*kernel)(A...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_reference_t<A>*>(args[I])...);
}
template <typename... A>
void invoke_as(Kernel k, void** args) {
    call(reinterpret_cast<void (*)(A...)>(k), args, std::index_sequence_for<A...>{});
}
template <typename... A>
int launch(void (*k)(A...), const unsigned* dims, void** args, size_t shared_size) {
    kernel = reinterpret_cast<Kernel>(k), arguments = args, invoke = invoke_as<A...>;
    return run(dims, shared_size);
}
}  // namespace emu

// What Python calls. A module is built with hidden visibility and no GNU-unique symbols (emulate.py), so
// the state above is its own: two modules loaded in one process never share (or half-share) it.
#define HYPERION_EXPORT extern "C" __attribute__((visibility("default")))
HYPERION_EXPORT const char* hyperion_error() { return emu::error; }

// ---- the CUDA functions the kernels call -------------------------------------------------------------
inline void __syncthreads() { emu::arrive(emu::block_barrier, (int)emu::fibers.size(), "__syncthreads"); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::warp_sync(mask, "__syncwarp"); }
template <typename T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) { return emu::shuffle(mask, v, src, width, emu::Shfl::idx, "__shfl_sync"); }
template <typename T>
T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32) { return emu::shuffle(mask, v, (int)d, width, emu::Shfl::up, "__shfl_up_sync"); }
template <typename T>
T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32) { return emu::shuffle(mask, v, (int)d, width, emu::Shfl::down, "__shfl_down_sync"); }
template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int m, int width = 32) { return emu::shuffle(mask, v, m, width, emu::Shfl::bfly, "__shfl_xor_sync"); }
inline unsigned __ballot_sync(unsigned mask, int p) { return emu::ballot(mask, p, "__ballot_sync"); }
inline int __any_sync(unsigned mask, int p) { return emu::ballot(mask, p, "__any_sync") != 0; }
inline int __all_sync(unsigned mask, int p) { return emu::ballot(mask, p, "__all_sync") == (mask & emu::present_lanes()); }
inline unsigned __activemask() { return emu::present_lanes(); }  // every lane of the warp (no divergence model)
inline void __threadfence() {}
inline void __threadfence_block() {}

template <typename T>
T __ldg(const T* p) { return *p; }
template <typename T>  // a load through L2 (no memory model here: a plain load)
T __ldcg(const T* p) { return *p; }
template <typename T>  // a streaming (evict-first) load and store: no caches here, plain accesses
T __ldcs(const T* p) { return *p; }
template <typename T>
void __stcs(T* p, T v) { *p = v; }
template <typename T>  // the fibers never run at the same time: a read-modify-write is atomic
T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <typename T>
T atomicMax(T* p, T v) { T old = *p; *p = old < v ? v : old; return old; }
template <typename T>
T atomicMin(T* p, T v) { T old = *p; *p = v < old ? v : old; return old; }
template <typename T>
T atomicExch(T* p, T v) { T old = *p; *p = v; return old; }
template <typename T>
T atomicCAS(T* p, T compare, T v) { T old = *p; if (old == compare) *p = v; return old; }

inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : x > 1.f ? 1.f : x; }
inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float v) { int i; std::memcpy(&i, &v, 4); return i; }
inline float __uint_as_float(unsigned v) { float f; std::memcpy(&f, &v, 4); return f; }
inline unsigned __float_as_uint(float v) { unsigned i; std::memcpy(&i, &v, 4); return i; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }

// ---- 16-bit floats (what cuda_fp16.h / cuda_bf16.h give the kernels; those names lead here) -------------
struct __half { unsigned short bits; };
struct __half2 { __half x, y; };
struct __nv_bfloat16 { unsigned short bits; };
struct __nv_bfloat162 { __nv_bfloat16 x, y; };
inline float __half2float(__half h) { _Float16 f; std::memcpy(&f, &h, 2); return (float)f; }
inline __half __float2half_rn(float v) { const _Float16 f = (_Float16)v; __half h; std::memcpy(&h, &f, 2); return h; }
inline float2 __half22float2(__half2 h) { return {__half2float(h.x), __half2float(h.y)}; }
inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }
inline float __bfloat162float(__nv_bfloat16 h) { return __uint_as_float((unsigned)h.bits << 16); }
inline __nv_bfloat16 __float2bfloat16_rn(float v) {  // round to nearest even; NaN stays NaN
    const unsigned u = __float_as_uint(v);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {0x7fff};
    return {(unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}
inline float2 __bfloat1622float2(__nv_bfloat162 h) { return {__bfloat162float(h.x), __bfloat162float(h.y)}; }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return {__float2bfloat16_rn(a), __float2bfloat16_rn(b)}; }

// ---- qualifiers (after the standard headers: they must not see these) -----------------------------------
// __global__, __shared__ and __align__ become markers that emulate.py finds in the preprocessed text
#define __global__ HYPERION_KERNEL
#define __shared__ HYPERION_SHARED
#define __align__(n) HYPERION_ALIGN(n)
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __restrict__
#define __launch_bounds__(...)
#undef assert
#define assert(c) ((c) ? (void)0 : ::emu::fail("device assert failed: %s", #c))
