// The backward pass of the 3D update in yee3d.cu: the transposed (adjoint) E and H steps with the CPML,
// fused with what each gradient method needs at the same cell.
//
// The forward E update is E_u <- M_u (E_u + cb (s1 D_a1 H_f1 + s2 D_a2 H_f2)) with each derivative D
// stretched in the CPML slab: y = d/kappa + psi', psi' = b psi + c d. Its transpose, for adjoint fields
// (Eb, Hb) and the adjoint chi of psi, is, per (component u, axis a) pair with seed s = sign cb M_u Eb_u:
//     phi = chi + s;   dbar = s/kappa + c phi;   chi <- b phi;   Hb_f += dbar(x) - dbar(x + e_a)
// (the transpose of a backward difference is minus a forward one). The H update transposes the same way
// with seed -sign dt Hb_u and Eb_f += dbar(x - e_a) - dbar(x). Each thread recomputes its neighbour's
// dbar, so chi is read from chi_in and written to chi_out (ping-pong: the neighbour still needs the old one).
// Outside the slabs b = 1, c = 0, 1/kappa = 1 and dbar = s.
//
// mode 0: the transpose only.
// mode 1 (time reversal): also, on the interior R = [P, n-P)^3 (no CPML there), undo the forward step:
//     transpose_e: grad += Eb . curl H;  E -= cb curl H      transpose_h: H += dt curl E
// mode 2 (checkpointing, kernels 1-2): transpose_e also adds grad += Eb . (E1 - E0) / cb on R (E1, E0 stored).
// mode 3 (checkpointing, kernels 3-5): grad += Eb . (curl H - J) on R from the stored H^{n+1/2}.
// Layouts and profiles as in yee3d.cu; chi arrays have psi's layout (slots 0,1: H pairs; 2,3: E pairs).
//
// The kernels, each a step on the one before (H200, 256^3, microseconds a step against the forward step's 476: time
// reversal / checkpointing adjoint in mode 2, results/fdtd_speed/h200_call4/profile.txt; mode 3 came after):
//   1  every cell goes through dual(), two passes a step                                  1328 / 1033 us
//   2  (-DCORE_FAST_PATH) cells whose stencil touches no slab take a plain transposed curl (call 2: not faster)
//   3  the core [P+1, n-P-1)^3 in ONE pass a step (step_core), ping-pong buffers; the rest
//      through kernel 1's code with in/out buffers (transpose_e3, transpose_h3)          998 / 799 us
//   4  kernel 3 in two launches (step4 = core + outer E step; transpose_h4 over a list of
//      the blocks that hold outer cells), 32-bit core indices, no spills                  914 / 701 us
//   5  (-DPLANES=4) kernel 4 with four planes a thread (more registers: not faster)         911 / 737 us
//   6  kernel 4 with no warp mixing core and outer cells: core blocks aligned in k, the outer cells
//      numbered densely, the recorded shell restored inside the kernels (no scatter launches)  not measured yet
//   7  (-DSTEP6_MIN_BLOCKS=5) kernel 6 at 48 registers, no spill, 5 blocks an SM            not measured yet
//   8  kernel 6 with each core thread marching 8 planes in x, carrying in registers what the
//      next plane reuses: 62 global loads a core cell instead of 80 (mode 1, PTX)           not measured yet
//
// Bytes a cell moves to and from memory per step (fp32, neighbours served by the caches), time reversal, 256^3:
//                                   reads                         writes                floats   x forward
//   forward step (update_h+update_e) E 3, H 3 | H 3, E 3, cb        H 3 | E 3              19       1
//     + in a CPML slab, per axis    psi 4                           psi 4                 +8
//   reverse, core cell (kernels 3+) Eb 3, Hb 3, cb, E 3, H 3, grad  Eb' 3, Hb' 3, E 3, H 3, grad   27   1.42
//   reverse, slab cell              Eb 3, Hb 3, cb | Hb' 3, Eb 3    Hb' 3 | Eb' 3          19   (+ chi 8 an axis)
//   reverse, R's one-cell rim       the slab cell's + E 3, H 3, grad, E' 3, H 3 | + E' 3, grad, H' 3   39
//   shell record (forward) / restore (reverse): 12 (n-2P)^2 values a step = 0.04 floats a cell each way
// At 256^3 (core 76.4%, slabs 21.7% with 0.23 slab axes a cell on average, rim 2.0%) that is about 27.4 floats a cell
// against the forward step's 20.9: 1.31x. Kernel 4 measured 1.88x a forward step (call 5): bytes alone do not explain
// its time. Loads issued: core_cell's mode-1 path has 80 global loads (PTX, sm_90; it recomputes Hb' at 6 neighbours
// and E at 3) against 25 on a forward core cell's path (12 in update_h, 13 in update_e, counted in yee3d.cu), and in step4 2 of the 8 warps of every core row run both the core and the outer code.
// Kernels 6-7 remove the latter (and the two scatter launches a step); kernel 8 also cuts the loads: 62 a core cell
// in its loop, plus 22 at the start of each run of 8 planes (about 65 a cell on average).

#define IDX(i, j, k) (((long long)(i) * ny + (j)) * nz + (k))

struct Grid {
    int nx, ny, nz, P;
};

__device__ __forceinline__ int slab(int i, int n, int P) {
    return i < P ? i : (i >= n - P ? i - (n - 2 * P) : -1);
}

// dbar of one (axis a, slot) pair at cell (i, j, k) for seed s; h = 0 for the E-profiles, 3 for the H-profiles.
// Writes chi_out only when it is given (the cell's own pairs, never a neighbour's).
__device__ __forceinline__ float dual(float s, int a, int slot, int i, int j, int k, Grid g, const float *chi_x,
                                      const float *chi_y, const float *chi_z, float *out_x, float *out_y,
                                      float *out_z, bool write, const float *prof, int h) {
    int pos = a == 0 ? i : (a == 1 ? j : k);
    int n = a == 0 ? g.nx : (a == 1 ? g.ny : g.nz);
    int sl = slab(pos, n, g.P);
    if (sl < 0) return s;
    long long at, pair;
    const float *chi;
    float *out;
    int offset;
    if (a == 0) {
        at = ((long long)sl * g.ny + j) * g.nz + k; pair = 2LL * g.P * g.ny * g.nz;
        chi = chi_x; out = out_x; offset = 0;
    } else if (a == 1) {
        at = ((long long)i * 2 * g.P + sl) * g.nz + k; pair = 2LL * g.P * g.nx * g.nz;
        chi = chi_y; out = out_y; offset = 6 * g.nx;
    } else {
        at = ((long long)i * g.ny + j) * 2 * g.P + sl; pair = 2LL * g.P * g.nx * g.ny;
        chi = chi_z; out = out_z; offset = 6 * g.nx + 6 * g.ny;
    }
    const float *q = prof + offset + h * n;  // b, c, 1/kappa of this axis
    float phi = chi[slot * pair + at] + s;
    if (write) out[slot * pair + at] = q[pos] * phi;
    return s * q[2 * n + pos] + q[n + pos] * phi;
}

__device__ __forceinline__ bool inside(int i, int j, int k, Grid g) {
    return i >= g.P && i < g.nx - g.P && j >= g.P && j < g.ny - g.P && k >= g.P && k < g.nz - g.P;
}

#define DUAL(s, a, slot, i, j, k, write, h) \
    dual((s), (a), (slot), (i), (j), (k), g, cx, cy, cz, ox, oy, oz, (write), prof, (h))

extern "C" __global__ void transpose_e(const int nx, const int ny, const int nz, const int P, const int mode,
                                       const float *__restrict__ Ebx, const float *__restrict__ Eby,
                                       const float *__restrict__ Ebz, float *__restrict__ Hbx,
                                       float *__restrict__ Hby, float *__restrict__ Hbz, const float *cx,
                                       const float *cy, const float *cz, float *ox, float *oy, float *oz,
                                       const float *__restrict__ prof, const float *__restrict__ cb, float *Ex,
                                       float *Ey, float *Ez, const float *Hx, const float *Hy, const float *Hz,
                                       const float *E0x, const float *E0y, const float *E0z, float *grad) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    if (k >= nz || j >= ny) return;
    Grid g = {nx, ny, nz, P};
    long long id = IDX(i, j, k), sx = (long long)ny * nz, sy = nz;
    // seeds cb * M_u * Eb_u at this cell and at the +x, +y, +z neighbours (0 past the last cell)
    float c0 = cb[id], ebx = Ebx[id], eby = Eby[id], ebz = Ebz[id];
#ifdef CORE_FAST_PATH
    // Kernel 2: in the core (the cell and its +1 neighbours outside every slab, no PEC mask) every dbar is
    // its seed, so the transpose is a plain difference of the seeds: no slab arithmetic, no chi.
    if (i >= P && i < nx - P - 1 && j >= P && j < ny - P - 1 && k >= P && k < nz - P - 1) {
        float s0 = c0 * ebx, s1 = c0 * eby, s2 = c0 * ebz;
        float cy_ = cb[id + sy], cz_ = cb[id + 1], cx_ = cb[id + sx];
        Hbx[id] += (s1 - cz_ * Eby[id + 1]) - (s2 - cy_ * Ebz[id + sy]);
        Hby[id] += (s2 - cx_ * Ebz[id + sx]) - (s0 - cz_ * Ebx[id + 1]);
        Hbz[id] += (s0 - cy_ * Ebx[id + sy]) - (s1 - cx_ * Eby[id + sx]);
        if (mode == 1) {
            float cux = (Hz[id] - Hz[id - sy]) - (Hy[id] - Hy[id - 1]);
            float cuy = (Hx[id] - Hx[id - 1]) - (Hz[id] - Hz[id - sx]);
            float cuz = (Hy[id] - Hy[id - sx]) - (Hx[id] - Hx[id - sy]);
            grad[id] += ebx * cux + eby * cuy + ebz * cuz;
            Ex[id] -= c0 * cux;
            Ey[id] -= c0 * cuy;
            Ez[id] -= c0 * cuz;
        } else if (mode == 2) {
            grad[id] += (ebx * (Ex[id] - E0x[id]) + eby * (Ey[id] - E0y[id]) + ebz * (Ez[id] - E0z[id])) / c0;
        }
        return;
    }
#endif
    float s0 = (j > 0 && k > 0) ? c0 * ebx : 0.f, s1 = (i > 0 && k > 0) ? c0 * eby : 0.f;
    float s2 = (i > 0 && j > 0) ? c0 * ebz : 0.f;
    float hx = 0.f, hy = 0.f, hz = 0.f;
    hz += DUAL(s0, 1, 2, i, j, k, true, 0);    // Ex += cb dHz/dy
    hy += DUAL(-s0, 2, 2, i, j, k, true, 0);   // Ex -= cb dHy/dz
    hx += DUAL(s1, 2, 3, i, j, k, true, 0);    // Ey += cb dHx/dz
    hz += DUAL(-s1, 0, 2, i, j, k, true, 0);   // Ey -= cb dHz/dx
    hy += DUAL(s2, 0, 3, i, j, k, true, 0);    // Ez += cb dHy/dx
    hx += DUAL(-s2, 1, 3, i, j, k, true, 0);   // Ez -= cb dHx/dy
    if (j + 1 < ny) {
        long long n = id + sy;
        float m = k > 0 ? cb[n] : 0.f;
        hz -= DUAL(m * Ebx[n], 1, 2, i, j + 1, k, false, 0);
        hx -= DUAL(-(i > 0 ? cb[n] : 0.f) * Ebz[n], 1, 3, i, j + 1, k, false, 0);
    }
    if (k + 1 < nz) {
        long long n = id + 1;
        hy -= DUAL(-(j > 0 ? cb[n] : 0.f) * Ebx[n], 2, 2, i, j, k + 1, false, 0);
        hx -= DUAL((i > 0 ? cb[n] : 0.f) * Eby[n], 2, 3, i, j, k + 1, false, 0);
    }
    if (i + 1 < nx) {
        long long n = id + sx;
        hz -= DUAL(-(k > 0 ? cb[n] : 0.f) * Eby[n], 0, 2, i + 1, j, k, false, 0);
        hy -= DUAL((j > 0 ? cb[n] : 0.f) * Ebz[n], 0, 3, i + 1, j, k, false, 0);
    }
    Hbx[id] += hx;
    Hby[id] += hy;
    Hbz[id] += hz;
    if (mode == 0 || !inside(i, j, k, g)) return;
    if (mode == 1) {  // undo E^{n+1} = E^n + cb curl H on R; the gradient sees curl H (the source is added after)
        float cux = (Hz[id] - Hz[id - sy]) - (Hy[id] - Hy[id - 1]);
        float cuy = (Hx[id] - Hx[id - 1]) - (Hz[id] - Hz[id - sx]);
        float cuz = (Hy[id] - Hy[id - sx]) - (Hx[id] - Hx[id - sy]);
        grad[id] += ebx * cux + eby * cuy + ebz * cuz;
        Ex[id] -= c0 * cux;
        Ey[id] -= c0 * cuy;
        Ez[id] -= c0 * cuz;
    } else {  // mode 2: E holds E^{n+1}, E0 holds E^n
        grad[id] += (ebx * (Ex[id] - E0x[id]) + eby * (Ey[id] - E0y[id]) + ebz * (Ez[id] - E0z[id])) / c0;
    }
}

extern "C" __global__ void transpose_h(const int nx, const int ny, const int nz, const int P, const int mode,
                                       const float dt, float *__restrict__ Ebx, float *__restrict__ Eby,
                                       float *__restrict__ Ebz, const float *__restrict__ Hbx,
                                       const float *__restrict__ Hby, const float *__restrict__ Hbz,
                                       const float *cx, const float *cy, const float *cz, float *ox, float *oy,
                                       float *oz, const float *__restrict__ prof, const float *Ex, const float *Ey,
                                       const float *Ez, float *Hx, float *Hy, float *Hz) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    if (k >= nz || j >= ny) return;
    Grid g = {nx, ny, nz, P};
    long long id = IDX(i, j, k), sx = (long long)ny * nz, sy = nz;
#ifdef CORE_FAST_PATH
    if (i > P && i < nx - P && j > P && j < ny - P && k > P && k < nz - P) {  // the cell and its -1 neighbours
        float hx = Hbx[id], hy = Hby[id], hz = Hbz[id];
        Ebx[id] += dt * ((hy - Hby[id - 1]) - (hz - Hbz[id - sy]));
        Eby[id] += dt * ((hz - Hbz[id - sx]) - (hx - Hbx[id - 1]));
        Ebz[id] += dt * ((hx - Hbx[id - sy]) - (hy - Hby[id - sx]));
        if (mode == 1) {
            Hx[id] += dt * ((Ez[id + sy] - Ez[id]) - (Ey[id + 1] - Ey[id]));
            Hy[id] += dt * ((Ex[id + 1] - Ex[id]) - (Ez[id + sx] - Ez[id]));
            Hz[id] += dt * ((Ey[id + sx] - Ey[id]) - (Ex[id + sy] - Ex[id]));
        }
        return;
    }
#endif
    float t0 = -dt * Hbx[id], t1 = -dt * Hby[id], t2 = -dt * Hbz[id];
    float ex = 0.f, ey = 0.f, ez = 0.f;
    ez -= DUAL(t0, 1, 0, i, j, k, true, 3);    // Hx -= dt dEz/dy
    ey -= DUAL(-t0, 2, 0, i, j, k, true, 3);   // Hx += dt dEy/dz
    ex -= DUAL(t1, 2, 1, i, j, k, true, 3);    // Hy -= dt dEx/dz
    ez -= DUAL(-t1, 0, 0, i, j, k, true, 3);   // Hy += dt dEz/dx
    ey -= DUAL(t2, 0, 1, i, j, k, true, 3);    // Hz -= dt dEy/dx
    ex -= DUAL(-t2, 1, 1, i, j, k, true, 3);   // Hz += dt dEx/dy
    if (j > 0) {
        long long n = id - sy;
        ez += DUAL(-dt * Hbx[n], 1, 0, i, j - 1, k, false, 3);
        ex += DUAL(dt * Hbz[n], 1, 1, i, j - 1, k, false, 3);
    }
    if (k > 0) {
        long long n = id - 1;
        ey += DUAL(dt * Hbx[n], 2, 0, i, j, k - 1, false, 3);
        ex += DUAL(-dt * Hby[n], 2, 1, i, j, k - 1, false, 3);
    }
    if (i > 0) {
        long long n = id - sx;
        ez += DUAL(dt * Hby[n], 0, 0, i - 1, j, k, false, 3);
        ey += DUAL(-dt * Hbz[n], 0, 1, i - 1, j, k, false, 3);
    }
    Ebx[id] += ex;
    Eby[id] += ey;
    Ebz[id] += ez;
    if (mode != 1 || !inside(i, j, k, g)) return;
    // undo H^{n+1/2} = H^{n-1/2} - dt curl E^n on R (E^n there and on the high shell is already in place)
    Hx[id] += dt * ((Ez[id + sy] - Ez[id]) - (Ey[id + 1] - Ey[id]));
    Hy[id] += dt * ((Ex[id + 1] - Ex[id]) - (Ez[id + sx] - Ez[id]));
    Hz[id] += dt * ((Ey[id + sx] - Ey[id]) - (Ex[id + sy] - Ex[id]));
}

// ---- Kernel 3: the core in one pass per step, ping-pong buffers ----
// The core C = [P+1, n-P-1)^3 holds the cells where kernel 2's two plain paths hold at the cell and at its -1
// neighbours. There one thread does the whole step: it recomputes Hb' = Hb + (E step)^T Eb at itself and at its -1
// neighbours (instead of waiting for their threads), then Eb' = Eb + (H step)^T Hb'; in mode 1 it also undoes E at
// itself and at its +1 neighbours (curl H read from the old H), then H. Every output goes to a second buffer, so the
// neighbours' threads still read the inputs: each field is read once and written once per step (mode 1: 27 floats
// a cell against kernel 1's 39). The rest of the grid (the slabs and the layer next to them) goes through
// transpose_e3 and transpose_h3: kernel 1's code with separate in/out buffers, skipping C. The soft source J_z on
// the box [si0, si1) x [sj0, sj1) x [sk0, sk1) is undone inline (mode 1): E^n_z = E^{n+1}_z - cb (curl_z H - J),
// and the gradient sees curl H - J. Fields here are stacked [3][nx][ny][nz] (component c at offset c N).
// Mode 3 (checkpointing with the segment's H stored instead of its E): grad += Eb . (curl H - J), H = H^{n+1/2};
// it reads 3 stored values a cell instead of mode 2's 6 (E^{n+1} and E^n).

__device__ __forceinline__ bool in_core(int i, int j, int k, Grid g) {
    return i > g.P && i < g.nx - g.P - 1 && j > g.P && j < g.ny - g.P - 1 && k > g.P && k < g.nz - g.P - 1;
}

struct Box {
    int i0, i1, j0, j1, k0, k1;
    float J;
    __device__ __forceinline__ float at(int i, int j, int k) const {
        return (i >= i0 && i < i1 && j >= j0 && j < j1 && k >= k0 && k < k1) ? J : 0.f;
    }
};

// Hb'_u at y in the core (kernel 2's transpose_e core path): s_c = cb Eb_c, Hb'_x = Hb_x + (s1 - s1(+z)) - (s2 - s2(+y))
__device__ __forceinline__ float hb_x(const float *Eb, const float *Hb, const float *cb, int y, int N, int sy) {
    return Hb[y] + (cb[y] * Eb[N + y] - cb[y + 1] * Eb[N + y + 1]) -
           (cb[y] * Eb[2 * N + y] - cb[y + sy] * Eb[2 * N + y + sy]);
}
__device__ __forceinline__ float hb_y(const float *Eb, const float *Hb, const float *cb, int y, int N, int sx) {
    return Hb[N + y] + (cb[y] * Eb[2 * N + y] - cb[y + sx] * Eb[2 * N + y + sx]) - (cb[y] * Eb[y] - cb[y + 1] * Eb[y + 1]);
}
__device__ __forceinline__ float hb_z(const float *Eb, const float *Hb, const float *cb, int y, int N, int sx, int sy) {
    return Hb[2 * N + y] + (cb[y] * Eb[y] - cb[y + sy] * Eb[y + sy]) - (cb[y] * Eb[N + y] - cb[y + sx] * Eb[N + y + sx]);
}

// One core cell of kernel 3/4 (int indices: the engine checks 3 N < 2^31).
__device__ __forceinline__ void core_cell(int i, int j, int k, Grid g, const int mode, const float dt, Box box,
                                          const float *__restrict__ Eb, const float *__restrict__ Hb,
                                          float *__restrict__ EbO, float *__restrict__ HbO,
                                          const float *__restrict__ cb, const float *__restrict__ E,
                                          const float *__restrict__ H, float *__restrict__ EO,
                                          float *__restrict__ HO, float *__restrict__ grad) {
    const int nx = g.nx, ny = g.ny, nz = g.nz;
    const int N = nx * ny * nz, sx = ny * nz, sy = nz;
    const int id = (i * ny + j) * nz + k;
    // the adjoint: Hb' here and at the -1 neighbours, then Eb'
    float hx = hb_x(Eb, Hb, cb, id, N, sy), hy = hb_y(Eb, Hb, cb, id, N, sx), hz = hb_z(Eb, Hb, cb, id, N, sx, sy);
    float hx_mz = hb_x(Eb, Hb, cb, id - 1, N, sy), hx_my = hb_x(Eb, Hb, cb, id - sy, N, sy);
    float hy_mz = hb_y(Eb, Hb, cb, id - 1, N, sx), hy_mx = hb_y(Eb, Hb, cb, id - sx, N, sx);
    float hz_my = hb_z(Eb, Hb, cb, id - sy, N, sx, sy), hz_mx = hb_z(Eb, Hb, cb, id - sx, N, sx, sy);
    float ebx = Eb[id], eby = Eb[N + id], ebz = Eb[2 * N + id], c0 = cb[id];
    HbO[id] = hx;
    HbO[N + id] = hy;
    HbO[2 * N + id] = hz;
    EbO[id] = ebx + dt * ((hy - hy_mz) - (hz - hz_my));
    EbO[N + id] = eby + dt * ((hz - hz_mx) - (hx - hx_mz));
    EbO[2 * N + id] = ebz + dt * ((hx - hx_my) - (hy - hy_mx));
    if (mode == 2) {  // E holds E^{n+1}, H holds E^n
        grad[id] += (ebx * (E[id] - H[id]) + eby * (E[N + id] - H[N + id]) + ebz * (E[2 * N + id] - H[2 * N + id])) / c0;
        return;
    }
    if (mode != 1 && mode != 3) return;
    const float *Hx = H, *Hy = H + N, *Hz = H + 2 * N;
#define CURL_X(y) ((Hz[y] - Hz[(y) - sy]) - (Hy[y] - Hy[(y) - 1]))
#define CURL_Y(y) ((Hx[y] - Hx[(y) - 1]) - (Hz[y] - Hz[(y) - sx]))
#define CURL_Z(y) ((Hy[y] - Hy[(y) - sx]) - (Hx[y] - Hx[(y) - sy]))
    float cux = CURL_X(id), cuy = CURL_Y(id), cuz = CURL_Z(id) - box.at(i, j, k);
    grad[id] += ebx * cux + eby * cuy + ebz * cuz;
    if (mode == 3) return;  // checkpointing with stored H: the gradient only
    float ex = E[id] - c0 * cux, ey = E[N + id] - c0 * cuy, ez = E[2 * N + id] - c0 * cuz;
    EO[id] = ex;
    EO[N + id] = ey;
    EO[2 * N + id] = ez;
    // E^n at the +1 neighbours (all in R: the core ends one cell before R does)
    int y;
    y = id + sy;
    float ex_py = E[y] - cb[y] * CURL_X(y), ez_py = E[2 * N + y] - cb[y] * (CURL_Z(y) - box.at(i, j + 1, k));
    y = id + 1;
    float ex_pz = E[y] - cb[y] * CURL_X(y), ey_pz = E[N + y] - cb[y] * CURL_Y(y);
    y = id + sx;
    float ey_px = E[N + y] - cb[y] * CURL_Y(y), ez_px = E[2 * N + y] - cb[y] * (CURL_Z(y) - box.at(i + 1, j, k));
#undef CURL_X
#undef CURL_Y
#undef CURL_Z
    HO[id] = Hx[id] + dt * ((ez_py - ez) - (ey_pz - ey));
    HO[N + id] = Hy[id] + dt * ((ex_pz - ex) - (ez_px - ez));
    HO[2 * N + id] = Hz[id] + dt * ((ey_px - ey) - (ex_py - ex));
}

extern "C" __global__ void step_core(const int nx, const int ny, const int nz, const int P, const int mode,
                                     const float dt, const int si0, const int si1, const int sj0, const int sj1,
                                     const int sk0, const int sk1, const float J, const float *__restrict__ Eb,
                                     const float *__restrict__ Hb, float *__restrict__ EbO, float *__restrict__ HbO,
                                     const float *__restrict__ cb, const float *__restrict__ E,
                                     const float *__restrict__ H, float *__restrict__ EO, float *__restrict__ HO,
                                     float *__restrict__ grad) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    Grid g = {nx, ny, nz, P};
    if (k >= nz || j >= ny || !in_core(i, j, k, g)) return;
    core_cell(i, j, k, g, mode, dt, Box{si0, si1, sj0, sj1, sk0, sk1, J}, Eb, Hb, EbO, HbO, cb, E, H, EO, HO, grad);
}

// Kernel 1's transpose_e outside the core: Hb' = Hb + (E step)^T Eb into HbO; mode 1 undoes E into EO (source
// inline), mode 2 reads E^{n+1} from E and E^n from H.
__device__ __forceinline__ void outer_e_cell(int i, int j, int k, Grid g, const int mode, Box box,
                                             const float *__restrict__ Eb, const float *__restrict__ Hb,
                                             float *__restrict__ HbO, const float *cx, const float *cy,
                                             const float *cz, float *ox, float *oy, float *oz,
                                             const float *__restrict__ prof, const float *__restrict__ cb,
                                             const float *__restrict__ E, const float *__restrict__ H,
                                             float *__restrict__ EO, float *__restrict__ grad) {
    const int nx = g.nx, ny = g.ny, nz = g.nz;
    const long long N = (long long)nx * ny * nz, id = IDX(i, j, k), sx = (long long)ny * nz, sy = nz;
    const float *Ebx = Eb, *Eby = Eb + N, *Ebz = Eb + 2 * N;
    float c0 = cb[id], ebx = Ebx[id], eby = Eby[id], ebz = Ebz[id];
    float s0 = (j > 0 && k > 0) ? c0 * ebx : 0.f, s1 = (i > 0 && k > 0) ? c0 * eby : 0.f;
    float s2 = (i > 0 && j > 0) ? c0 * ebz : 0.f;
    float hx = 0.f, hy = 0.f, hz = 0.f;
    hz += DUAL(s0, 1, 2, i, j, k, true, 0);
    hy += DUAL(-s0, 2, 2, i, j, k, true, 0);
    hx += DUAL(s1, 2, 3, i, j, k, true, 0);
    hz += DUAL(-s1, 0, 2, i, j, k, true, 0);
    hy += DUAL(s2, 0, 3, i, j, k, true, 0);
    hx += DUAL(-s2, 1, 3, i, j, k, true, 0);
    if (j + 1 < ny) {
        long long n = id + sy;
        float m = k > 0 ? cb[n] : 0.f;
        hz -= DUAL(m * Ebx[n], 1, 2, i, j + 1, k, false, 0);
        hx -= DUAL(-(i > 0 ? cb[n] : 0.f) * Ebz[n], 1, 3, i, j + 1, k, false, 0);
    }
    if (k + 1 < nz) {
        long long n = id + 1;
        hy -= DUAL(-(j > 0 ? cb[n] : 0.f) * Ebx[n], 2, 2, i, j, k + 1, false, 0);
        hx -= DUAL((i > 0 ? cb[n] : 0.f) * Eby[n], 2, 3, i, j, k + 1, false, 0);
    }
    if (i + 1 < nx) {
        long long n = id + sx;
        hz -= DUAL(-(k > 0 ? cb[n] : 0.f) * Eby[n], 0, 2, i + 1, j, k, false, 0);
        hy -= DUAL((j > 0 ? cb[n] : 0.f) * Ebz[n], 0, 3, i + 1, j, k, false, 0);
    }
    HbO[id] = Hb[id] + hx;
    HbO[N + id] = Hb[N + id] + hy;
    HbO[2 * N + id] = Hb[2 * N + id] + hz;
    if (mode == 0 || !inside(i, j, k, g)) return;
    if (mode == 1 || mode == 3) {
        const float *Hx = H, *Hy = H + N, *Hz = H + 2 * N;
        float cux = (Hz[id] - Hz[id - sy]) - (Hy[id] - Hy[id - 1]);
        float cuy = (Hx[id] - Hx[id - 1]) - (Hz[id] - Hz[id - sx]);
        float cuz = (Hy[id] - Hy[id - sx]) - (Hx[id] - Hx[id - sy]) - box.at(i, j, k);
        grad[id] += ebx * cux + eby * cuy + ebz * cuz;
        if (mode == 3) return;
        EO[id] = E[id] - c0 * cux;
        EO[N + id] = E[N + id] - c0 * cuy;
        EO[2 * N + id] = E[2 * N + id] - c0 * cuz;
    } else {
        grad[id] += (ebx * (E[id] - H[id]) + eby * (E[N + id] - H[N + id]) + ebz * (E[2 * N + id] - H[2 * N + id])) / c0;
    }
}

extern "C" __global__ void transpose_e3(const int nx, const int ny, const int nz, const int P, const int mode,
                                        const int si0, const int si1, const int sj0, const int sj1, const int sk0,
                                        const int sk1, const float J, const float *__restrict__ Eb,
                                        const float *__restrict__ Hb, float *__restrict__ HbO, const float *cx,
                                        const float *cy, const float *cz, float *ox, float *oy, float *oz,
                                        const float *__restrict__ prof, const float *__restrict__ cb,
                                        const float *__restrict__ E, const float *__restrict__ H,
                                        float *__restrict__ EO, float *__restrict__ grad) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    Grid g = {nx, ny, nz, P};
    if (k >= nz || j >= ny || in_core(i, j, k, g)) return;
    outer_e_cell(i, j, k, g, mode, Box{si0, si1, sj0, sj1, sk0, sk1, J}, Eb, Hb, HbO, cx, cy, cz, ox, oy, oz, prof, cb,
                 E, H, EO, grad);
}

// Kernel 1's transpose_h outside the core: Eb' = Eb + (H step)^T Hb' (Hb' = transpose_e3's and step_core's HbO)
// into EbO; mode 1 undoes H into HO from the old H and E^n (E: transpose_e3's and step_core's EO, shell restored).
__device__ __forceinline__ void outer_h_cell(int i, int j, int k, Grid g, const int mode, const float dt,
                                             const float *__restrict__ Eb, const float *__restrict__ Hb,
                                             float *__restrict__ EbO, const float *cx, const float *cy,
                                             const float *cz, float *ox, float *oy, float *oz,
                                             const float *__restrict__ prof, const float *__restrict__ E,
                                             const float *__restrict__ H, float *__restrict__ HO) {
    const int nx = g.nx, ny = g.ny, nz = g.nz;
    const long long N = (long long)nx * ny * nz, id = IDX(i, j, k), sx = (long long)ny * nz, sy = nz;
    const float *Hbx = Hb, *Hby = Hb + N, *Hbz = Hb + 2 * N;
    float t0 = -dt * Hbx[id], t1 = -dt * Hby[id], t2 = -dt * Hbz[id];
    float ex = 0.f, ey = 0.f, ez = 0.f;
    ez -= DUAL(t0, 1, 0, i, j, k, true, 3);
    ey -= DUAL(-t0, 2, 0, i, j, k, true, 3);
    ex -= DUAL(t1, 2, 1, i, j, k, true, 3);
    ez -= DUAL(-t1, 0, 0, i, j, k, true, 3);
    ey -= DUAL(t2, 0, 1, i, j, k, true, 3);
    ex -= DUAL(-t2, 1, 1, i, j, k, true, 3);
    if (j > 0) {
        long long n = id - sy;
        ez += DUAL(-dt * Hbx[n], 1, 0, i, j - 1, k, false, 3);
        ex += DUAL(dt * Hbz[n], 1, 1, i, j - 1, k, false, 3);
    }
    if (k > 0) {
        long long n = id - 1;
        ey += DUAL(dt * Hbx[n], 2, 0, i, j, k - 1, false, 3);
        ex += DUAL(-dt * Hby[n], 2, 1, i, j, k - 1, false, 3);
    }
    if (i > 0) {
        long long n = id - sx;
        ez += DUAL(dt * Hby[n], 0, 0, i - 1, j, k, false, 3);
        ey += DUAL(-dt * Hbz[n], 0, 1, i - 1, j, k, false, 3);
    }
    EbO[id] = Eb[id] + ex;
    EbO[N + id] = Eb[N + id] + ey;
    EbO[2 * N + id] = Eb[2 * N + id] + ez;
    if (mode != 1 || !inside(i, j, k, g)) return;
    const float *Ex = E, *Ey = E + N, *Ez = E + 2 * N;
    HO[id] = H[id] + dt * ((Ez[id + sy] - Ez[id]) - (Ey[id + 1] - Ey[id]));
    HO[N + id] = H[N + id] + dt * ((Ex[id + 1] - Ex[id]) - (Ez[id + sx] - Ez[id]));
    HO[2 * N + id] = H[2 * N + id] + dt * ((Ey[id + sx] - Ey[id]) - (Ex[id + sy] - Ex[id]));
}

extern "C" __global__ void transpose_h3(const int nx, const int ny, const int nz, const int P, const int mode,
                                        const float dt, const float *__restrict__ Eb, const float *__restrict__ Hb,
                                        float *__restrict__ EbO, const float *cx, const float *cy, const float *cz,
                                        float *ox, float *oy, float *oz, const float *__restrict__ prof,
                                        const float *__restrict__ E, const float *__restrict__ H,
                                        float *__restrict__ HO) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    Grid g = {nx, ny, nz, P};
    if (k >= nz || j >= ny || in_core(i, j, k, g)) return;
    outer_h_cell(i, j, k, g, mode, dt, Eb, Hb, EbO, cx, cy, cz, ox, oy, oz, prof, E, H, HO);
}

// ---- Kernels 4 and 5: kernel 3 in two launches instead of three ----
// step4 does a core cell (core_cell) or, elsewhere, the outer transposed E step (outer_e_cell): the two read only
// the step's inputs, so one launch covers both. transpose_h4 runs only the blocks that hold a cell outside the core,
// from a list of (block x, block y, plane group) triples made once by the engine (about 40% of the blocks at 256^3).
// Each thread does PLANES consecutive planes (kernel 4: 1; kernel 5, compiled with -DPLANES=4: 4), so what one plane
// reads of the next and previous ones is, for the other planes, already in the multiprocessor's L1 cache.
#ifndef PLANES
#define PLANES 1
#endif
#if PLANES == 1
#define STEP4_MIN_BLOCKS 6  // 40 registers, no spills
#else
#define STEP4_MIN_BLOCKS 4  // the loop needs more: 64 registers, no spills
#endif

extern "C" __global__ void __launch_bounds__(256, STEP4_MIN_BLOCKS) step4(
    const int nx, const int ny, const int nz, const int P, const int mode, const float dt, const int si0,
    const int si1, const int sj0, const int sj1, const int sk0, const int sk1, const float J,
    const float *__restrict__ Eb, const float *__restrict__ Hb, float *__restrict__ EbO, float *__restrict__ HbO,
    const float *cx, const float *cy, const float *cz, float *ox, float *oy, float *oz, const float *__restrict__ prof,
    const float *__restrict__ cb, const float *__restrict__ E, const float *__restrict__ H, float *__restrict__ EO,
    float *__restrict__ HO, float *__restrict__ grad) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    Grid g = {nx, ny, nz, P};
    if (k >= nz || j >= ny) return;
    Box box = {si0, si1, sj0, sj1, sk0, sk1, J};
#if PLANES == 1
    {
        const int i = blockIdx.z;
#else
    int last = ((int)blockIdx.z + 1) * PLANES;
    if (last > nx) last = nx;
#pragma unroll 1
    for (int i = blockIdx.z * PLANES; i < last; ++i) {
#endif
        if (in_core(i, j, k, g))
            core_cell(i, j, k, g, mode, dt, box, Eb, Hb, EbO, HbO, cb, E, H, EO, HO, grad);
        else
            outer_e_cell(i, j, k, g, mode, box, Eb, Hb, HbO, cx, cy, cz, ox, oy, oz, prof, cb, E, H, EO, grad);
    }
}

extern "C" __global__ void __launch_bounds__(256, 6) transpose_h4(
    const int nx, const int ny, const int nz, const int P, const int mode, const float dt,
    const int *__restrict__ blocks, const float *__restrict__ Eb, const float *__restrict__ Hb,
    float *__restrict__ EbO, const float *cx, const float *cy, const float *cz, float *ox, float *oy, float *oz,
    const float *__restrict__ prof, const float *__restrict__ E, const float *__restrict__ H,
    float *__restrict__ HO) {
    int k = blocks[3 * blockIdx.x] * blockDim.x + threadIdx.x;
    int j = blocks[3 * blockIdx.x + 1] * blockDim.y + threadIdx.y;
    int group = blocks[3 * blockIdx.x + 2];
    Grid g = {nx, ny, nz, P};
    if (k >= nz || j >= ny) return;
    int last = (group + 1) * PLANES;
    if (last > nx) last = nx;
#pragma unroll 1
    for (int i = group * PLANES; i < last; ++i)
        if (!in_core(i, j, k, g)) outer_h_cell(i, j, k, g, mode, dt, Eb, Hb, EbO, cx, cy, cz, ox, oy, oz, prof, E, H, HO);
}

// ---- Kernel 6: kernel 4 with warp-uniform work and the shell restored inside, two launches a step ----
// Kernel 4 launches one thread per cell of the whole grid and picks the core or the outer code per cell: at 256^3 2 of
// the 8 warps of every core row hold both kinds of cell (k < 32 and k >= 224 straddle the CPML), so they run both
// codes one after the other; transpose_h4 runs 40% of the blocks though only 24% of the cells are outer;
// and the engine restores the recorded shell with two scatter launches between the two kernels.
// Kernel 6 numbers the work so that no warp mixes kinds:
//   step6  blocks [0, core_blocks): core cells only, on the grid aligned to 32 in k (loads stay aligned; a lane whose
//          k falls outside the core idles, it does not run other code); blocks after that: the outer cells only,
//          numbered densely (outer_cell below), each through kernel 1's transposed E step, and in mode 1 the E part
//          of the recorded shell written into EO (what outer6_h's cells read at their +1 neighbours);
//   outer6_h  the outer cells, numbered the same way, through kernel 1's transposed H step, and in mode 1 the H
//          part of the shell written into HO (the next step reads it).
// The bytes a cell moves are kernel 4's (27 floats a core cell in mode 1); what changes is the instructions a warp
// issues: no warp runs both codes, no launched thread only exits, two launches a step instead of four.

// The outer cells, all cells not in the core [t, n-t)^3 (t = P+1), as three boxes, k fastest in each:
//   x: i in [0, t) u [nx-t, nx), every j, k;  y: i in [t, nx-t), j in [0, t) u [ny-t, ny), every k;
//   z: i in [t, nx-t), j in [t, ny-t), k in [0, t) u [nz-t, nz).
// A box's two slabs are one axis of extent 2t: position a < t is cell a, a >= t is cell n - 2t + a.
__device__ __forceinline__ int outer_count(Grid g) {
    const int t = g.P + 1;
    return 2 * t * g.ny * g.nz + (g.nx - 2 * t) * 2 * t * g.nz + (g.nx - 2 * t) * (g.ny - 2 * t) * 2 * t;
}

__device__ __forceinline__ void outer_cell(int q, Grid g, int &i, int &j, int &k) {
    const int t = g.P + 1, bx = 2 * t * g.ny * g.nz, by = (g.nx - 2 * t) * 2 * t * g.nz;
    if (q < bx) {
        k = q % g.nz; j = (q / g.nz) % g.ny; i = q / (g.nz * g.ny);
        if (i >= t) i += g.nx - 2 * t;
    } else if (q < bx + by) {
        q -= bx;
        k = q % g.nz; j = (q / g.nz) % (2 * t); i = t + q / (g.nz * 2 * t);
        if (j >= t) j += g.ny - 2 * t;
    } else {
        q -= bx + by;
        k = q % (2 * t); j = t + (q / (2 * t)) % (g.ny - 2 * t); i = t + q / (2 * t * (g.ny - 2 * t));
        if (k >= t) k += g.nz - 2 * t;
    }
}

// The recorded shell (engines3d.Engine.record): for each axis a, for each of its two tangential components in order,
// the layer at index `layer` of axis a (E: n_a - P, above the high face; H: P - 1, below the low one) over R's cells
// of the two other axes, row-major; the E part first (2 (Lx + Ly + Lz) values, La the cells of axis a's layer), then
// the H part, laid out the same. Returns the row offset of this cell's first component (the second one is `size`
// further), `first`/`second` the components, or -1 when the cell is on no layer. `high`: E's layers, else H's.
__device__ __forceinline__ int shell_at(int i, int j, int k, Grid g, bool high, int &first, int &second, int &size) {
    const int P = g.P, mx = g.nx - 2 * P, my = g.ny - 2 * P, mz = g.nz - 2 * P;
    const bool ri = i >= P && i < g.nx - P, rj = j >= P && j < g.ny - P, rk = k >= P && k < g.nz - P;
    const int base = high ? 0 : 2 * (my * mz + mx * mz + mx * my);
    if (i == (high ? g.nx - P : P - 1) && rj && rk) {
        first = 1; second = 2; size = my * mz;
        return base + (j - P) * mz + (k - P);
    }
    if (j == (high ? g.ny - P : P - 1) && ri && rk) {
        first = 0; second = 2; size = mx * mz;
        return base + 2 * my * mz + (i - P) * mz + (k - P);
    }
    if (k == (high ? g.nz - P : P - 1) && ri && rj) {
        first = 0; second = 1; size = mx * my;
        return base + 2 * (my * mz + mx * mz) + (i - P) * my + (j - P);
    }
    return -1;
}

// Mode 1: the cell's part of the recorded shell into F (E's layers into EO, or H's into HO).
__device__ __forceinline__ void restore_shell(int i, int j, int k, Grid g, bool high, const float *__restrict__ row,
                                              float *__restrict__ F) {
    int first, second, size;
    const int at = shell_at(i, j, k, g, high, first, second, size);
    if (at < 0) return;
    const int N = g.nx * g.ny * g.nz, id = (i * g.ny + j) * g.nz + k;
    F[first * N + id] = row[at];
    F[second * N + id] = row[at + size];
}

// The core blocks of step6: blockDim.x-wide blocks aligned in k over [t, nz-t), blockDim.y rows over [t, ny-t), one
// plane each over [t, nx-t). The engine launches core_blocks + ceil(outer_count / threads a block) blocks.
__device__ __forceinline__ int core_blocks_k(Grid g) {
    const int t = g.P + 1;
    return (g.nz - t - 1) / (int)blockDim.x - t / (int)blockDim.x + 1;
}

#ifndef STEP6_MIN_BLOCKS
#define STEP6_MIN_BLOCKS 6  // kernel 6: 40 registers (a 4-byte spill on the outer path); kernel 7 (-D...=5): 48, none
#endif

extern "C" __global__ void __launch_bounds__(256, STEP6_MIN_BLOCKS) step6(
    const int nx, const int ny, const int nz, const int P, const int mode, const float dt, const int si0,
    const int si1, const int sj0, const int sj1, const int sk0, const int sk1, const float J,
    const float *__restrict__ Eb, const float *__restrict__ Hb, float *__restrict__ EbO, float *__restrict__ HbO,
    const float *cx, const float *cy, const float *cz, float *ox, float *oy, float *oz, const float *__restrict__ prof,
    const float *__restrict__ cb, const float *__restrict__ E, const float *__restrict__ H, float *__restrict__ EO,
    float *__restrict__ HO, float *__restrict__ grad, const float *__restrict__ row) {
    Grid g = {nx, ny, nz, P};
    Box box = {si0, si1, sj0, sj1, sk0, sk1, J};
    const int t = P + 1, gk = core_blocks_k(g), gj = (ny - 2 * t + (int)blockDim.y - 1) / (int)blockDim.y;
    const int core_blocks = gk * gj * (nx - 2 * t);
    const int b = blockIdx.x;
    if (b < core_blocks) {
        const int k = (t / (int)blockDim.x + b % gk) * (int)blockDim.x + (int)threadIdx.x;
        const int j = t + (b / gk) % gj * (int)blockDim.y + (int)threadIdx.y;
        const int i = t + b / (gk * gj);
        if (k >= t && k < nz - t && j < ny - t)
            core_cell(i, j, k, g, mode, dt, box, Eb, Hb, EbO, HbO, cb, E, H, EO, HO, grad);
        return;
    }
    const int q = (b - core_blocks) * (int)(blockDim.x * blockDim.y) + (int)(threadIdx.y * blockDim.x + threadIdx.x);
    if (q >= outer_count(g)) return;
    int i, j, k;
    outer_cell(q, g, i, j, k);
    outer_e_cell(i, j, k, g, mode, box, Eb, Hb, HbO, cx, cy, cz, ox, oy, oz, prof, cb, E, H, EO, grad);
    if (mode == 1) restore_shell(i, j, k, g, true, row, EO);
}

// The transposed H step on the outer cells (after step6: it reads Hb' = HbO at -1 neighbours and, in mode 1, E^n = EO
// at +1 neighbours, the shell included). Mode as transpose_h4's: 1 (time reversal, undoes H on R) or 0.
extern "C" __global__ void __launch_bounds__(256, 6) outer6_h(
    const int nx, const int ny, const int nz, const int P, const int mode, const float dt,
    const float *__restrict__ Eb, const float *__restrict__ Hb, float *__restrict__ EbO, const float *cx,
    const float *cy, const float *cz, float *ox, float *oy, float *oz, const float *__restrict__ prof,
    const float *__restrict__ E, const float *__restrict__ H, float *__restrict__ HO, const float *__restrict__ row) {
    Grid g = {nx, ny, nz, P};
    const int q = (int)(blockIdx.x * blockDim.x * blockDim.y + threadIdx.y * blockDim.x + threadIdx.x);
    if (q >= outer_count(g)) return;
    int i, j, k;
    outer_cell(q, g, i, j, k);
    outer_h_cell(i, j, k, g, mode, dt, Eb, Hb, EbO, cx, cy, cz, ox, oy, oz, prof, E, H, HO);
    if (mode == 1) restore_shell(i, j, k, g, false, row, HO);
}

// ---- Kernel 8: kernel 6 with each core thread marching MARCH planes in +x, carrying what the next plane reuses ----
// core_cell recomputes, at every cell, Hb' at its -x neighbour (hy, hz) and curl H at its +x neighbour (y, z parts, for
// E^n there): exactly what the thread working on the +x neighbour's plane computes as its own. A thread of step8's
// core blocks does planes [i0, i0 + MARCH) of one (j, k) and keeps those 6 values (Hb'_y, Hb'_z here; curl_y, curl_z
// and E^n_y, E^n_z at i + 1) in registers for the next plane: 2 of core_cell's 9 Hb' evaluations and 2 of its 9 curl
// components go, with their loads (about a quarter of a core cell's global loads), at the price of one recomputation
// at the first plane of each run of MARCH. The outer cells, the shell and outer6_h are kernel 6's.
#ifndef MARCH
#define MARCH 8
#endif
#ifndef STEP8_MIN_BLOCKS
#define STEP8_MIN_BLOCKS 4  // 64 registers, no spills (5: 48 and 32 bytes of spills; 6: 40 and 76)
#endif

__device__ __forceinline__ void core_column(int i0, int i1, int j, int k, Grid g, const int mode, const float dt,
                                            Box box, const float *__restrict__ Eb, const float *__restrict__ Hb,
                                            float *__restrict__ EbO, float *__restrict__ HbO,
                                            const float *__restrict__ cb, const float *__restrict__ E,
                                            const float *__restrict__ H, float *__restrict__ EO,
                                            float *__restrict__ HO, float *__restrict__ grad) {
    const int nx = g.nx, ny = g.ny, nz = g.nz;
    const int N = nx * ny * nz, sx = ny * nz, sy = nz;
    const float *Hx = H, *Hy = H + N, *Hz = H + 2 * N;
#define CURL_X(y) ((Hz[y] - Hz[(y) - sy]) - (Hy[y] - Hy[(y) - 1]))
#define CURL_Y(y) ((Hx[y] - Hx[(y) - 1]) - (Hz[y] - Hz[(y) - sx]))
#define CURL_Z(y) ((Hy[y] - Hy[(y) - sx]) - (Hx[y] - Hx[(y) - sy]))
    int id = (i0 * ny + j) * nz + k;
    // the carried values, made fresh for the first plane: Hb' at its -x neighbour, curl H (y, z, source undone) and
    // E^n (y, z) at the plane itself
    float hy_mx = hb_y(Eb, Hb, cb, id - sx, N, sx), hz_mx = hb_z(Eb, Hb, cb, id - sx, N, sx, sy);
    float cuy = 0.f, cuz = 0.f, ey = 0.f, ez = 0.f;
    if (mode == 1 || mode == 3) {
        cuy = CURL_Y(id);
        cuz = CURL_Z(id) - box.at(i0, j, k);
        ey = E[N + id] - cb[id] * cuy;
        ez = E[2 * N + id] - cb[id] * cuz;
    }
#pragma unroll 1
    for (int i = i0; i < i1; ++i, id += sx) {
        float hx = hb_x(Eb, Hb, cb, id, N, sy), hy = hb_y(Eb, Hb, cb, id, N, sx), hz = hb_z(Eb, Hb, cb, id, N, sx, sy);
        float hx_mz = hb_x(Eb, Hb, cb, id - 1, N, sy), hx_my = hb_x(Eb, Hb, cb, id - sy, N, sy);
        float hy_mz = hb_y(Eb, Hb, cb, id - 1, N, sx), hz_my = hb_z(Eb, Hb, cb, id - sy, N, sx, sy);
        float ebx = Eb[id], eby = Eb[N + id], ebz = Eb[2 * N + id], c0 = cb[id];
        HbO[id] = hx;
        HbO[N + id] = hy;
        HbO[2 * N + id] = hz;
        EbO[id] = ebx + dt * ((hy - hy_mz) - (hz - hz_my));
        EbO[N + id] = eby + dt * ((hz - hz_mx) - (hx - hx_mz));
        EbO[2 * N + id] = ebz + dt * ((hx - hx_my) - (hy - hy_mx));
        hy_mx = hy;
        hz_mx = hz;
        if (mode == 2) {  // E holds E^{n+1}, H holds E^n
            grad[id] += (ebx * (E[id] - H[id]) + eby * (E[N + id] - H[N + id]) + ebz * (E[2 * N + id] - H[2 * N + id])) / c0;
            continue;
        }
        if (mode != 1 && mode != 3) continue;
        const float cux = CURL_X(id);
        grad[id] += ebx * cux + eby * cuy + ebz * cuz;
        const bool more = i + 1 < i1;  // the next plane of this run reuses the +x values
        if (mode == 3) {
            if (more) {
                cuy = CURL_Y(id + sx);
                cuz = CURL_Z(id + sx) - box.at(i + 1, j, k);
            }
            continue;
        }
        const float ex = E[id] - c0 * cux;
        EO[id] = ex;
        EO[N + id] = ey;
        EO[2 * N + id] = ez;
        int y = id + sy;
        const float ex_py = E[y] - cb[y] * CURL_X(y), ez_py = E[2 * N + y] - cb[y] * (CURL_Z(y) - box.at(i, j + 1, k));
        y = id + 1;
        const float ex_pz = E[y] - cb[y] * CURL_X(y), ey_pz = E[N + y] - cb[y] * CURL_Y(y);
        y = id + sx;
        const float cuy_px = CURL_Y(y), cuz_px = CURL_Z(y) - box.at(i + 1, j, k);
        const float ey_px = E[N + y] - cb[y] * cuy_px, ez_px = E[2 * N + y] - cb[y] * cuz_px;
        HO[id] = Hx[id] + dt * ((ez_py - ez) - (ey_pz - ey));
        HO[N + id] = Hy[id] + dt * ((ex_pz - ex) - (ez_px - ez));
        HO[2 * N + id] = Hz[id] + dt * ((ey_px - ey) - (ex_py - ex));
        cuy = cuy_px;
        cuz = cuz_px;
        ey = ey_px;
        ez = ez_px;
    }
#undef CURL_X
#undef CURL_Y
#undef CURL_Z
}

extern "C" __global__ void __launch_bounds__(256, STEP8_MIN_BLOCKS) step8(
    const int nx, const int ny, const int nz, const int P, const int mode, const float dt, const int si0,
    const int si1, const int sj0, const int sj1, const int sk0, const int sk1, const float J,
    const float *__restrict__ Eb, const float *__restrict__ Hb, float *__restrict__ EbO, float *__restrict__ HbO,
    const float *cx, const float *cy, const float *cz, float *ox, float *oy, float *oz, const float *__restrict__ prof,
    const float *__restrict__ cb, const float *__restrict__ E, const float *__restrict__ H, float *__restrict__ EO,
    float *__restrict__ HO, float *__restrict__ grad, const float *__restrict__ row) {
    Grid g = {nx, ny, nz, P};
    Box box = {si0, si1, sj0, sj1, sk0, sk1, J};
    const int t = P + 1, gk = core_blocks_k(g), gj = (ny - 2 * t + (int)blockDim.y - 1) / (int)blockDim.y;
    const int core_blocks = gk * gj * ((nx - 2 * t + MARCH - 1) / MARCH);
    const int b = blockIdx.x;
    if (b < core_blocks) {
        const int k = (t / (int)blockDim.x + b % gk) * (int)blockDim.x + (int)threadIdx.x;
        const int j = t + (b / gk) % gj * (int)blockDim.y + (int)threadIdx.y;
        const int i0 = t + b / (gk * gj) * MARCH, i1 = i0 + MARCH < nx - t ? i0 + MARCH : nx - t;
        if (k >= t && k < nz - t && j < ny - t)
            core_column(i0, i1, j, k, g, mode, dt, box, Eb, Hb, EbO, HbO, cb, E, H, EO, HO, grad);
        return;
    }
    const int q = (b - core_blocks) * (int)(blockDim.x * blockDim.y) + (int)(threadIdx.y * blockDim.x + threadIdx.x);
    if (q >= outer_count(g)) return;
    int i, j, k;
    outer_cell(q, g, i, j, k);
    outer_e_cell(i, j, k, g, mode, box, Eb, Hb, HbO, cx, cy, cz, ox, oy, oz, prof, cb, E, H, EO, grad);
    if (mode == 1) restore_shell(i, j, k, g, true, row, EO);
}

// ---- Engine helpers (used with every kernel above): one launch where array indexing would take two or three ----
// gather2: row[m] = A[a_index[m]] for m < na, then row[na + m] = B[b_index[m]] for m < nb (the shell record: E's
// layers then H's; or, with nb = 0, Ez at the monitors).
extern "C" __global__ void gather2(const int na, const int nb, const long long *__restrict__ a_index,
                                   const float *__restrict__ A, const long long *__restrict__ b_index,
                                   const float *__restrict__ B, float *__restrict__ row) {
    const int m = blockIdx.x * blockDim.x + threadIdx.x;
    if (m < na) row[m] = A[a_index[m]];
    else if (m < na + nb) row[m] = B[b_index[m - na]];
}

// add_at: F[index[m]] += values[m] for m < count (the adjoint's load at the monitors; atomic, so a cell listed twice
// gets both loads).
extern "C" __global__ void add_at(const int count, const long long *__restrict__ index,
                                  const float *__restrict__ values, float *F) {
    const int m = blockIdx.x * blockDim.x + threadIdx.x;
    if (m < count) atomicAdd(F + index[m], values[m]);
}
