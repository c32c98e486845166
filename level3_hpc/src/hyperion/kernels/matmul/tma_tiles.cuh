// The tiles, ring and register split that 14_wgmma_tma.cu and 16_wgmma_persistent.cu share: BM x BN tiles of
// C (BM = 128: two consumer warpgroups of 64 rows, and a producer warpgroup), 64-wide k-tiles of bf16/fp16, a
// ring of TC_STAGES stages, grouped rasterisation over TC_GROUP_M block rows. Compile-time defines.
#pragma once

#ifndef TC_BM
#define TC_BM 128
#endif
#ifndef TC_BN
#define TC_BN 256
#endif
#ifndef TC_STAGES
#define TC_STAGES 4
#endif
#ifndef TC_GROUP_M
#define TC_GROUP_M 8
#endif

constexpr int TC_BK = 64;
constexpr int CONSUMERS = TC_BM / 64;  // consumer warpgroups
constexpr int NTHREADS = 128 * (CONSUMERS + 1);
constexpr unsigned A_BYTES = TC_BM * TC_BK * 2, B_BYTES = TC_BK * TC_BN * 2, PANEL_BYTES = TC_BK * 128;
constexpr int ACC = TC_BN / 2;
static_assert(TC_BM % 64 == 0 && (TC_BN == 64 || TC_BN == 128 || TC_BN == 256),
              "64-row warpgroups, wgmma n64/n128/n256");
static_assert(TC_STAGES >= 2, "a ring of at least two stages");
// Registers: the block starts with LAUNCH_REGS a thread (the __launch_bounds__ cap, which ptxas fills); the
// producer gives 40 back and the consumers take what it gave (setmaxnreg.inc waits for registers the block
// released; asking for more would wait forever). Two consumer warpgroups: 168 -> 40 and 232.
constexpr int LAUNCH_REGS = (65536 / NTHREADS) / 8 * 8 > 255 ? 248 : (65536 / NTHREADS) / 8 * 8;
constexpr int CONSUMER_REGS = LAUNCH_REGS + (LAUNCH_REGS - 40) / CONSUMERS / 8 * 8;
static_assert(CONSUMERS == 2, "the register split is worked out for two consumer warpgroups (BM = 128)");
