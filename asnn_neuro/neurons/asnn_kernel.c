/* ASNN dynamics on the CPU in one pass over time, for time-last float32 tensors.
 *
 * Layout: every array is (rows, T) row-major, i.e. a contiguous (..., T) torch tensor with
 * rows = numel / T. Each row is one neuron with its T steps adjacent in memory. Rows are taken
 * in blocks of LANES: a block is copied into small (T, LANES) arrays that stay in L1 cache, the
 * recurrence runs over t with the LANES neurons side by side (so the compiler vectorises it),
 * and the results are copied back. Memory is read and written once; no layout copies.
 *
 * Forward  (per neuron):  u = lam[t] u + g[t] I[t];  u_pre[t] = u;
 *                         s[t] = (u >= theta);  u -= theta s[t].
 * Backward (reset path detached):
 *   gu[t]    = dL/ds[t] * a sig(a (u_pre[t] - theta)) (1 - sig(...)) + lam[t+1] gu[t+1]
 *   dL/dI[t] = g[t] gu[t];  dL/dg[t] += gu[t] I[t];  dL/dlam[t] += gu[t] (u_pre[t-1] - theta s[t-1]).
 * The schedule gradients are summed in double: per lane, then lanes, then threads, in a fixed order.
 *
 * Plain C (no Python or torch headers): built on first use by neurons/native.py, called via ctypes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_T 256
#define LANES 16

/* exp(x) for x in [-87, 0], without branches so that loops over it vectorise: Cephes-style range
 * reduction by ln 2 in two parts, degree-6 polynomial, 2^n built in the float's exponent bits
 * (relative error about 2e-7). n is rounded with the 1.5 * 2^23 trick (exact for |x * log2 e| < 2^22). */
static inline float exp_nonpositive(float x) {
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int32_t i; float f; } scale = {.i = ((int32_t)n + 127) << 23};
    return p * scale.f;
}


#define INLINE static inline __attribute__((always_inline))

/* (nb rows of `steps` values) -> (steps, LANES), zero padding; and back. */
INLINE void gather(float dst[][LANES], const float *src, int nb, int64_t steps) {
    if (nb == LANES) {
        for (int b = 0; b < LANES; b++)
            for (int64_t t = 0; t < steps; t++) dst[t][b] = src[b * steps + t];
        return;
    }
    for (int b = 0; b < LANES; b++)
        for (int64_t t = 0; t < steps; t++) dst[t][b] = b < nb ? src[b * steps + t] : 0.0f;
}

INLINE void scatter(float *dst, float src[][LANES], int nb, int64_t steps) {
    for (int b = 0; b < nb; b++)
        for (int64_t t = 0; t < steps; t++) dst[b * steps + t] = src[t][b];
}

/* Calls BODY with `steps` a compile-time constant for the common T, so loops over t unroll. */
#define DISPATCH_T(steps, BODY)                            \
    switch (steps) {                                       \
        case 1: BODY(1); break;                            \
        case 2: BODY(2); break;                            \
        case 4: BODY(4); break;                            \
        case 8: BODY(8); break;                            \
        case 16: BODY(16); break;                          \
        default: BODY(steps); break;                       \
    }

typedef struct { float x[MAX_T][LANES], p[MAX_T][LANES], s[MAX_T][LANES]; } Scratch;

INLINE void forward_block(Scratch *w, const float *cur, float *u_pre, float *spikes, int nb, int64_t steps,
                          const float *lam, const float *gain, float theta) {
    gather(w->x, cur, nb, steps);
    float u[LANES] = {0};
    for (int64_t t = 0; t < steps; t++) {
        float lt = lam[t], gt = gain[t];
        for (int b = 0; b < LANES; b++) w->p[t][b] = lt * u[b] + gt * w->x[t][b];
        for (int b = 0; b < LANES; b++) {
            float sp = w->p[t][b] >= theta ? 1.0f : 0.0f;
            w->s[t][b] = sp;
            u[b] = w->p[t][b] - theta * sp;
        }
    }
    scatter(u_pre, w->p, nb, steps);
    scatter(spikes, w->s, nb, steps);
}

int asnn_forward(const float *cur, float *u_pre, float *spikes, int64_t rows, int64_t steps,
                 const float *lam, const float *gain, float theta, int threads) {
    if (steps < 1 || steps > MAX_T || threads < 1) return 1;
    int64_t blocks = (rows + LANES - 1) / LANES;
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        Scratch *w = malloc(sizeof(Scratch));
        if (!w) failed = 1;
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; blk++) {
            if (!w) continue;
            int64_t r0 = blk * LANES;
            int nb = rows - r0 < LANES ? (int)(rows - r0) : LANES;
#define FWD(T_) forward_block(w, cur + r0 * (T_), u_pre + r0 * (T_), spikes + r0 * (T_), nb, (T_), lam, gain, theta)
            DISPATCH_T(steps, FWD)
#undef FWD
        }
        free(w);
    }
    return failed ? 2 : 0;
}

/* g[i] *= a sig(z) (1 - sig(z)), z = a (p[i] - theta), over a flat array. Written as
 * a e / (1 + e)^2 with e = exp(-|z|) (the same function, symmetric in z), so exp never overflows;
 * kept out of line so that it stays one vectorised loop whatever the caller unrolls. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VECTOR_CLONES __attribute__((noinline, target_clones("avx2", "default")))  /* AVX2 where the CPU has it */
#else
#define VECTOR_CLONES __attribute__((noinline))
#endif

VECTOR_CLONES static void surrogate(float *restrict g, const float *restrict p, int n,
                                                float theta, float alpha) {
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float m = -fabsf(alpha * (p[i] - theta));
        float e = exp_nonpositive(m < -87.0f ? -87.0f : m);
        float d = 1.0f + e;
        g[i] *= alpha * e / (d * d);
    }
}

/* g: dL/ds in, dL/du_pre out (in w->s); p: u_pre; x: current, then dL/dI. */
INLINE void backward_block(Scratch *w, double (*dl)[LANES], double (*dg)[LANES], const float *grad_s,
                           const float *cur, const float *u_pre, float *grad_cur, int nb, int64_t steps,
                           const float *lam, const float *gain, float theta, float alpha) {
    float (*g)[LANES] = w->s, (*p)[LANES] = w->p, (*x)[LANES] = w->x;
    gather(g, grad_s, nb, steps);  /* padding lanes: zero gradient, so they contribute nothing */
    gather(p, u_pre, nb, steps);
    gather(x, cur, nb, steps);
    surrogate(&g[0][0], &p[0][0], (int)steps * LANES, theta, alpha);
    for (int64_t t = steps - 2; t >= 0; t--) {
        float l1 = lam[t + 1];
        for (int b = 0; b < LANES; b++) g[t][b] += l1 * g[t + 1][b];
    }
    for (int64_t t = 0; t < steps; t++) {
        for (int b = 0; b < LANES; b++) dg[t][b] += (double)(g[t][b] * x[t][b]);
        if (t > 0)
            for (int b = 0; b < LANES; b++) {
                float prev = p[t - 1][b];
                dl[t][b] += (double)(g[t][b] * (prev >= theta ? prev - theta : prev));
            }
        float gt = gain[t];
        for (int b = 0; b < LANES; b++) x[t][b] = gt * g[t][b];
    }
    scatter(grad_cur, x, nb, steps);
}

int asnn_backward(const float *grad_s, const float *cur, const float *u_pre, int64_t rows, int64_t steps,
                  const float *lam, const float *gain, float theta, float alpha,
                  float *grad_cur, double *grad_lam, double *grad_gain, int threads) {
    if (steps < 1 || steps > MAX_T || threads < 1) return 1;
    int64_t blocks = (rows + LANES - 1) / LANES;
    double *per_thread = calloc((size_t)threads * 2 * steps, sizeof(double));
    if (!per_thread) return 2;
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        Scratch *w = malloc(sizeof(Scratch));
        double (*dl)[LANES] = calloc((size_t)steps * 2, sizeof(double[LANES]));
        double (*dg)[LANES] = dl + steps;
        int ok = w && dl;
        if (!ok) failed = 1;
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; blk++) {
            if (!ok) continue;
            int64_t r0 = blk * LANES;
            int nb = rows - r0 < LANES ? (int)(rows - r0) : LANES;
#define BWD(T_) backward_block(w, dl, dg, grad_s + r0 * (T_), cur + r0 * (T_), u_pre + r0 * (T_), \
                               grad_cur + r0 * (T_), nb, (T_), lam, gain, theta, alpha)
            DISPATCH_T(steps, BWD)
#undef BWD
        }
        double *mine = per_thread + (size_t)tid * 2 * steps;
        for (int64_t t = 0; ok && t < steps; t++)
            for (int b = 0; b < LANES; b++) {
                mine[t] += dl[t][b];
                mine[steps + t] += dg[t][b];
            }
        free(dl);
        free(w);
    }
    memset(grad_lam, 0, (size_t)steps * sizeof(double));
    memset(grad_gain, 0, (size_t)steps * sizeof(double));
    for (int k = 0; k < threads; k++)
        for (int64_t t = 0; t < steps; t++) {
            grad_lam[t] += per_thread[(size_t)k * 2 * steps + t];
            grad_gain[t] += per_thread[(size_t)k * 2 * steps + steps + t];
        }
    free(per_thread);
    return failed ? 2 : 0;
}

/* Max pooling over (H, W) of a contiguous (NC, H, W, T) float32 tensor, per time step, without
 * padding, floor output size -- F.max_pool3d with kernel (k, k, 1) and stride (s, s, 1), including
 * its choice among equal maxima (the first in window order; NaN counts as the maximum).
 * arg (NC, OH, OW, T) keeps the window position i * k + j of each maximum for the backward. */
INLINE void pool_row(const float *x, float *y, uint8_t *arg, int64_t W, int64_t steps, int k, int s, int64_t oh,
                     int64_t OW) {
    for (int64_t ow = 0; ow < OW; ow++) {
        float best[MAX_T];
        uint8_t pos[MAX_T];
        for (int64_t t = 0; t < steps; t++) { best[t] = -INFINITY; pos[t] = 0; }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                const float *v = x + ((oh * s + i) * W + ow * s + j) * steps;
                uint8_t here = (uint8_t)(i * k + j);
                for (int64_t t = 0; t < steps; t++) {
                    int take = v[t] > best[t] || isnan(v[t]);
                    best[t] = take ? v[t] : best[t];
                    pos[t] = take ? here : pos[t];
                }
            }
        for (int64_t t = 0; t < steps; t++) {
            y[ow * steps + t] = best[t];
            arg[ow * steps + t] = pos[t];
        }
    }
}

int pool_forward(const float *x, float *y, uint8_t *arg, int64_t nc, int64_t H, int64_t W, int64_t steps,
                 int k, int s, int threads) {
    if (steps < 1 || steps > MAX_T || k < 1 || k > 15 || s < 1 || H < k || W < k || threads < 1) return 1;
    int64_t OH = (H - k) / s + 1, OW = (W - k) / s + 1;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t r = 0; r < nc * OH; r++) {
        int64_t c = r / OH, oh = r % OH;
        const float *xc = x + c * H * W * steps;
        float *yr = y + (c * OH + oh) * OW * steps;
        uint8_t *ar = arg + (c * OH + oh) * OW * steps;
#define POOL(T_) pool_row(xc, yr, ar, W, (T_), k, s, oh, OW)
        DISPATCH_T(steps, POOL)
#undef POOL
    }
    return 0;
}

/* grad_x (zeroed by the caller) += grad_y routed to each maximum; one channel per iteration, so
 * overlapping windows (s < k) never race. */
int pool_backward(const float *grad_y, const uint8_t *arg, float *grad_x, int64_t nc, int64_t H, int64_t W,
                  int64_t steps, int k, int s, int threads) {
    if (steps < 1 || steps > MAX_T || k < 1 || k > 15 || s < 1 || H < k || W < k || threads < 1) return 1;
    int64_t OH = (H - k) / s + 1, OW = (W - k) / s + 1;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t c = 0; c < nc; c++) {
        float *gx = grad_x + c * H * W * steps;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t o = ((c * OH + oh) * OW + ow) * steps;
                for (int64_t t = 0; t < steps; t++) {
                    int p = arg[o + t], i = p / k, j = p % k;
                    gx[((oh * s + i) * W + ow * s + j) * steps + t] += grad_y[o + t];
                }
            }
    }
    return 0;
}
