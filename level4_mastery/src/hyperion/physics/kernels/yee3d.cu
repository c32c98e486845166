// 3D Yee update with CPML, fp32: one fused kernel for H and one for E.
//
// Layout: every field is [nx][ny][nz], nz contiguous; one thread per cell, (k, j) from the block grid,
// i from blockIdx.z. The CPML auxiliary fields live only in the slabs: for axis x the array
// psi_x[4][2P][ny][nz] holds (Hy,x) (Hz,x) (Ey,x) (Ez,x); slab index s = i (left) or i - (nx - 2P)
// (right). Profiles: prof[axis block][q][n] with q = b_e, c_e, 1/kappa_e, b_h, c_h, 1/kappa_h.
// Units c = eps0 = mu0 = dx = 1; dt is the Courant number. PEC walls: tangential E = 0 at index 0,
// fields read as 0 past the last index.

#define IDX(i, j, k) (((long long)(i) * ny + (j)) * nz + (k))

__device__ __forceinline__ int slab(int i, int n, int P) {
    return i < P ? i : (i >= n - P ? i - (n - 2 * P) : -1);
}

// d <- d/kappa + psi, psi <- b psi + c d   (when the cell is in the slab of this axis)
__device__ __forceinline__ float stretch(float d, float *psi, long long at, const float *q, int pos, int n) {
    float b = q[pos], c = q[n + pos], ik = q[2 * n + pos];
    float p = b * psi[at] + c * d;
    psi[at] = p;
    return d * ik + p;
}

// curl E at cell (i, j, k), each derivative stretched by the CPML where the cell lies in a slab of that
// axis (which also advances that slab's psi): what update_h and update_h_to both subtract, times dt.
struct Curl { float x, y, z; };

__device__ __forceinline__ Curl curl_e(const int nx, const int ny, const int nz, const int P, int i, int j, int k,
                                       long long id, const float *__restrict__ Ex, const float *__restrict__ Ey,
                                       const float *__restrict__ Ez, float *psi_x, float *psi_y, float *psi_z,
                                       const float *__restrict__ prof) {
    float ex = Ex[id], ey = Ey[id], ez = Ez[id];
    float ex_y = j + 1 < ny ? Ex[id + nz] : 0.f, ez_y = j + 1 < ny ? Ez[id + nz] : 0.f;
    float ex_z = k + 1 < nz ? Ex[id + 1] : 0.f, ey_z = k + 1 < nz ? Ey[id + 1] : 0.f;
    float ey_x = i + 1 < nx ? Ey[id + (long long)ny * nz] : 0.f, ez_x = i + 1 < nx ? Ez[id + (long long)ny * nz] : 0.f;
    float dEz_dy = ez_y - ez, dEx_dy = ex_y - ex;
    float dEy_dz = ey_z - ey, dEx_dz = ex_z - ex;
    float dEz_dx = ez_x - ez, dEy_dx = ey_x - ey;
    int s;
    if ((s = slab(i, nx, P)) >= 0) {  // x slab: (Hy,x) (Hz,x)
        long long at = ((long long)s * ny + j) * nz + k, pair = 2LL * P * ny * nz;
        const float *q = prof + 3 * nx;  // h-profiles of axis x
        dEz_dx = stretch(dEz_dx, psi_x, at, q, i, nx);
        dEy_dx = stretch(dEy_dx, psi_x + pair, at, q, i, nx);
    }
    if ((s = slab(j, ny, P)) >= 0) {  // y slab: (Hx,y) (Hz,y)
        long long at = ((long long)i * 2 * P + s) * nz + k, pair = 2LL * P * nx * nz;
        const float *q = prof + 6 * nx + 3 * ny;
        dEz_dy = stretch(dEz_dy, psi_y, at, q, j, ny);
        dEx_dy = stretch(dEx_dy, psi_y + pair, at, q, j, ny);
    }
    if ((s = slab(k, nz, P)) >= 0) {  // z slab: (Hx,z) (Hy,z)
        long long at = ((long long)i * ny + j) * 2 * P + s, pair = 2LL * P * nx * ny;
        const float *q = prof + 6 * nx + 6 * ny + 3 * nz;
        dEy_dz = stretch(dEy_dz, psi_z, at, q, k, nz);
        dEx_dz = stretch(dEx_dz, psi_z + pair, at, q, k, nz);
    }
    return {dEz_dy - dEy_dz, dEx_dz - dEz_dx, dEy_dx - dEx_dy};
}

extern "C" __global__ void update_h(const int nx, const int ny, const int nz, const int P, const float dt,
                                    const float *__restrict__ Ex, const float *__restrict__ Ey,
                                    const float *__restrict__ Ez, float *__restrict__ Hx, float *__restrict__ Hy,
                                    float *__restrict__ Hz, float *psi_x, float *psi_y, float *psi_z,
                                    const float *__restrict__ prof) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    if (k >= nz || j >= ny) return;
    long long id = IDX(i, j, k);
    Curl c = curl_e(nx, ny, nz, P, i, j, k, id, Ex, Ey, Ez, psi_x, psi_y, psi_z, prof);
    Hx[id] -= dt * c.x;
    Hy[id] -= dt * c.y;
    Hz[id] -= dt * c.z;
}

// update_h with the new H written to (HOx, HOy, HOz) instead of in place: the checkpointing gradient keeps each
// H of a segment in its own slot (the adjoint then reads curl H, 3 values a cell, instead of two E's, 6).
extern "C" __global__ void update_h_to(const int nx, const int ny, const int nz, const int P, const float dt,
                                    const float *__restrict__ Ex, const float *__restrict__ Ey,
                                    const float *__restrict__ Ez, const float *__restrict__ Hx, const float *__restrict__ Hy,
                                    const float *__restrict__ Hz, float *__restrict__ HOx, float *__restrict__ HOy,
                                    float *__restrict__ HOz, float *psi_x, float *psi_y, float *psi_z,
                                    const float *__restrict__ prof) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    if (k >= nz || j >= ny) return;
    long long id = IDX(i, j, k);
    Curl c = curl_e(nx, ny, nz, P, i, j, k, id, Ex, Ey, Ez, psi_x, psi_y, psi_z, prof);
    HOx[id] = Hx[id] - dt * c.x;
    HOy[id] = Hy[id] - dt * c.y;
    HOz[id] = Hz[id] - dt * c.z;
}

// E is read from (Ex, Ey, Ez) and written to (Ox, Oy, Oz): the same arrays for the in-place update, or the
// next slot of a stored history (the checkpointing gradient keeps every E of a segment without copies).
extern "C" __global__ void update_e(const int nx, const int ny, const int nz, const int P,
                                    const float *Ex, const float *Ey, const float *Ez,
                                    float *Ox, float *Oy, float *Oz,
                                    const float *__restrict__ Hx, const float *__restrict__ Hy,
                                    const float *__restrict__ Hz, float *psi_x, float *psi_y, float *psi_z,
                                    const float *__restrict__ prof, const float *__restrict__ cb) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    int i = blockIdx.z;
    if (k >= nz || j >= ny) return;
    long long id = IDX(i, j, k);
    float hx = Hx[id], hy = Hy[id], hz = Hz[id];
    float dHz_dy = hz - (j > 0 ? Hz[id - nz] : 0.f), dHx_dy = hx - (j > 0 ? Hx[id - nz] : 0.f);
    float dHy_dz = hy - (k > 0 ? Hy[id - 1] : 0.f), dHx_dz = hx - (k > 0 ? Hx[id - 1] : 0.f);
    float dHz_dx = hz - (i > 0 ? Hz[id - (long long)ny * nz] : 0.f);
    float dHy_dx = hy - (i > 0 ? Hy[id - (long long)ny * nz] : 0.f);
    int s;
    if ((s = slab(i, nx, P)) >= 0) {  // x slab: (Ey,x) (Ez,x)
        long long at = ((long long)s * ny + j) * nz + k, pair = 2LL * P * ny * nz;
        const float *q = prof;  // e-profiles of axis x
        dHz_dx = stretch(dHz_dx, psi_x + 2 * pair, at, q, i, nx);
        dHy_dx = stretch(dHy_dx, psi_x + 3 * pair, at, q, i, nx);
    }
    if ((s = slab(j, ny, P)) >= 0) {  // y slab: (Ex,y) (Ez,y)
        long long at = ((long long)i * 2 * P + s) * nz + k, pair = 2LL * P * nx * nz;
        const float *q = prof + 6 * nx;
        dHz_dy = stretch(dHz_dy, psi_y + 2 * pair, at, q, j, ny);
        dHx_dy = stretch(dHx_dy, psi_y + 3 * pair, at, q, j, ny);
    }
    if ((s = slab(k, nz, P)) >= 0) {  // z slab: (Ex,z) (Ey,z)
        long long at = ((long long)i * ny + j) * 2 * P + s, pair = 2LL * P * nx * ny;
        const float *q = prof + 6 * nx + 6 * ny;
        dHy_dz = stretch(dHy_dz, psi_z + 2 * pair, at, q, k, nz);
        dHx_dz = stretch(dHx_dz, psi_z + 3 * pair, at, q, k, nz);
    }
    float c = cb[id];
    float ex = Ex[id] + c * (dHz_dy - dHy_dz);
    float ey = Ey[id] + c * (dHx_dz - dHz_dx);
    float ez = Ez[id] + c * (dHy_dx - dHx_dy);
    Ox[id] = (j == 0 || k == 0) ? 0.f : ex;
    Oy[id] = (i == 0 || k == 0) ? 0.f : ey;
    Oz[id] = (i == 0 || j == 0) ? 0.f : ez;
}
