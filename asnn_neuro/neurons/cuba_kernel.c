/* lava-dl's CUBA neuron (slayer.neuron.cuba) on the CPU in one pass over time, for time-last
 * float32 tensors.
 *
 * Layout: every array is (rows, T) row-major, a contiguous (..., T) torch tensor with
 * rows = numel / T; row r is neuron r % neurons of sample r / neurons, so per-neuron parameters
 * (keep, factor) are arrays of `neurons` values.
 *
 * Integer dynamics, exactly those of lava-dl's leaky integrator (w = the state scale, 4096 for
 * CUBA; keep = 4096 - decay):
 *     y[t]  = trunc0(y_old * keep / 4096) + (int64)(w * x[t])      (trunc0: towards zero)
 *     out[t] = (float)y[t] / w;  y_old = y[t] >= theta_w ? 0 : y[t]  (reset only if theta_w > 0)
 * the comparison made in float32, as torch does for an int64 tensor against a Python float.
 * A CUBA neuron is two such stages, current (no reset) then voltage (reset), and its spike is
 * (voltage >= theta) in float32.
 *
 * Backward, lava-dl's (the reset and the integer rounding are not differentiated):
 *     gv[t] = amp * exp(-|v[t] - theta| / tau) * ds[t]              (surrogate)
 *     gi[t] = factor * gi[t+1] + go[t]                              (each stage, factor = 1 - decay/4096)
 *     d decay += gi[t+1] * out[t]                                    (summed per row, in double)
 * The backward recomputes the forward of its row (no tensor but the input is kept).
 *
 * The fused CUBA kernels take rows in blocks of LANES, copied into small (T, LANES) arrays that stay
 * in L1 cache, so that the recurrences run over t with LANES neurons side by side and vectorise.
 * There the integers are carried in double: every value is an integer below 2^40 in magnitude, so
 * products with keep (< 2^13), the division by 4096 and trunc() are exact and give the int64
 * results. A block where some value is not below 2^40 (or is not a number) is redone row by row
 * in int64.
 *
 * Plain C (no Python or torch headers): built on first use by neurons/native.py, called via ctypes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_T 256
#define LANES 16
#define EXACT_LIMIT 1099511627776.0 /* 2^40 */

#define INLINE static inline __attribute__((always_inline))
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VECTOR_CLONES __attribute__((noinline, target_clones("avx2", "default")))  /* AVX2 where the CPU has it */
#else
#define VECTOR_CLONES __attribute__((noinline))
#endif

typedef struct {
    int64_t rows, steps, neurons;
    float w;             /* state scale */
    float theta_w;       /* reset threshold, scaled by w, float32 */
    int reset;           /* 1 if the voltage stage resets (theta_w > 0) */
    float theta;         /* spike threshold, float32 */
} Shape;

/* One leaky-integrator stage over one row: in (float, time-last) -> out (float). */
static inline void li_row(const float *in, float *out, int64_t steps, int64_t y0, int64_t keep,
                          float w, int reset, float theta_w) {
    int64_t y_old = y0;
    for (int64_t t = 0; t < steps; t++) {
        int64_t y = (y_old * keep) / 4096 + (int64_t)(w * in[t]);  /* C division truncates to zero */
        out[t] = (float)y / w;
        y_old = (reset && (float)y >= theta_w) ? 0 : y;
    }
}

static inline int64_t initial(const float *state, int64_t r, float w) {
    return state ? (int64_t)(state[r] * w) : 0;
}

/* Backward recursion of one stage over one row; returns sum_t gi[t+1] * out[t]. */
static inline double li_back_row(const float *go, const float *out, float *gi, int64_t steps, float factor) {
    gi[steps - 1] = go[steps - 1];
    double gd = 0.0;
    for (int64_t t = steps - 2; t >= 0; t--) {
        gi[t] = factor * gi[t + 1] + go[t];
        gd += (double)(gi[t + 1] * out[t]);
    }
    return gd;
}

/* lava-dl's _li_dynamics_bwd: grad_in, and per-row decay gradient (NULL: not wanted). */
int li_backward(const float *go, const float *out, float *gi, double *gdecay, int64_t rows, int64_t steps,
                int64_t neurons, const float *factor, int threads) {
    if (steps < 1 || neurons < 1 || threads < 1) return 1;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t r = 0; r < rows; r++) {
        double gd = li_back_row(go + r * steps, out + r * steps, gi + r * steps, steps, factor[r % neurons]);
        if (gdecay) gdecay[r] = gd;
    }
    return 0;
}

typedef struct {
    float x[MAX_T][LANES], c[MAX_T][LANES], v[MAX_T][LANES], g[MAX_T][LANES];
    double ckeep[LANES], vkeep[LANES], c0[LANES], v0[LANES];
    float cfac[LANES], vfac[LANES];
    double gcd[LANES], gvd[LANES];
} Scratch;

typedef struct {
    const float *cstate, *vstate;
    const int64_t *ckeep, *vkeep;
    const float *cfactor, *vfactor;
} Params;

/* (nb rows of `steps` values) -> (steps, LANES), zero padding; and back. */
INLINE void gather(float dst[][LANES], const float *src, int nb, int64_t steps) {
    for (int b = 0; b < LANES; b++)
        for (int64_t t = 0; t < steps; t++) dst[t][b] = b < nb ? src[b * steps + t] : 0.0f;
}

INLINE void scatter(float *dst, float src[][LANES], int nb, int64_t steps) {
    for (int b = 0; b < nb; b++)
        for (int64_t t = 0; t < steps; t++) dst[b * steps + t] = src[t][b];
}

/* Per-lane parameters of rows r0 .. r0 + nb - 1 (padding lanes: those of lane 0, state 0). */
INLINE void lane_params(Scratch *w, const Params *p, const Shape *s, int64_t r0, int nb) {
    int64_t n = r0 % s->neurons;
    for (int b = 0; b < LANES; b++) {
        int live = b < nb;
        int64_t r = r0 + (live ? b : 0);
        w->vkeep[b] = (double)p->vkeep[n];
        w->vfac[b] = p->vfactor ? p->vfactor[n] : 0.0f;
        w->v0[b] = live ? (double)initial(p->vstate, r, s->w) : 0.0;
        if (p->ckeep) {
            w->ckeep[b] = (double)p->ckeep[n];
            w->cfac[b] = p->cfactor ? p->cfactor[n] : 0.0f;
            w->c0[b] = live ? (double)initial(p->cstate, r, s->w) : 0.0;
        }
        if (live && ++n == s->neurons) n = 0;
    }
}

/* One leaky-integrator stage over a block in double; returns the number of lane-steps whose values
 * were not exactly representable (then the caller redoes the block in int64). */
INLINE int li_block(float in[][LANES], float out[][LANES], int64_t steps, const double *y0, const double *keep,
                    float w, int reset, float theta_w) {
    double y_old[LANES];
    int bad[LANES];
    for (int b = 0; b < LANES; b++) {
        y_old[b] = y0[b];
        bad[b] = !(fabs(y0[b]) < EXACT_LIMIT);
    }
    for (int64_t t = 0; t < steps; t++)
        for (int b = 0; b < LANES; b++) {
            double add = trunc((double)(w * in[t][b]));
            double y = trunc(y_old[b] * keep[b] * (1.0 / 4096.0)) + add;
            float yf = (float)y;
            out[t][b] = yf / w;
            y_old[b] = (reset && yf >= theta_w) ? 0.0 : y;
            bad[b] += !(fabs(add) < EXACT_LIMIT) + !(fabs(y) < EXACT_LIMIT);
        }
    int total = 0;
    for (int b = 0; b < LANES; b++) total += bad[b];
    return total;
}

/* Current (if any) and voltage of a block into w->c, w->v, from w->x. */
INLINE void cuba_block(Scratch *w, const Params *p, const Shape *s, int64_t r0, int nb, int64_t steps) {
    float (*vin)[LANES] = w->x;
    int bad = 0;
    if (p->ckeep) {
        bad += li_block(w->x, w->c, steps, w->c0, w->ckeep, s->w, 0, 0.0f);
        vin = w->c;
    }
    bad += li_block(vin, w->v, steps, w->v0, w->vkeep, s->w, s->reset, s->theta_w);
    if (bad == 0) return;
    for (int b = 0; b < nb; b++) {  /* exact int64 path, row by row */
        float x[MAX_T], c[MAX_T], v[MAX_T];
        for (int64_t t = 0; t < steps; t++) x[t] = w->x[t][b];
        int64_t r = r0 + b, n = r % s->neurons;
        const float *in = x;
        if (p->ckeep) {
            li_row(x, c, steps, initial(p->cstate, r, s->w), p->ckeep[n], s->w, 0, 0.0f);
            in = c;
        }
        li_row(in, v, steps, initial(p->vstate, r, s->w), p->vkeep[n], s->w, s->reset, s->theta_w);
        for (int64_t t = 0; t < steps; t++) {
            w->c[t][b] = p->ckeep ? c[t] : 0.0f;
            w->v[t][b] = v[t];
        }
    }
}

INLINE void forward_body(Scratch *w, const Params *p, const Shape *s, const float *x, float *spikes, int64_t r0,
                         int nb, int64_t steps) {
    lane_params(w, p, s, r0, nb);
    gather(w->x, x + r0 * steps, nb, steps);
    cuba_block(w, p, s, r0, nb, steps);
    for (int64_t t = 0; t < steps; t++)
        for (int b = 0; b < LANES; b++) w->g[t][b] = w->v[t][b] >= s->theta ? 1.0f : 0.0f;
    scatter(spikes + r0 * steps, w->g, nb, steps);
}

/* Backward of one stage over a block: g (dL/dout) -> gi (dL/din), returns per lane sum gi[t+1] out[t]. */
INLINE void li_back_block(float g[][LANES], float gi[][LANES], float out[][LANES], int64_t steps,
                          const float *fac, double *gd) {
    for (int b = 0; b < LANES; b++) {
        gi[steps - 1][b] = g[steps - 1][b];
        gd[b] = 0.0;
    }
    for (int64_t t = steps - 2; t >= 0; t--)
        for (int b = 0; b < LANES; b++) {
            gi[t][b] = fac[b] * gi[t + 1][b] + g[t][b];
            gd[b] += (double)(gi[t + 1][b] * out[t][b]);
        }
}

/* z = -|v - theta| / tau, the argument of lava-dl's surrogate (the caller takes torch.exp of it). */
INLINE void surrogate_body(Scratch *w, const Params *p, const Shape *s, const float *x, float *z, float tau,
                           int64_t r0, int nb, int64_t steps) {
    lane_params(w, p, s, r0, nb);
    gather(w->x, x + r0 * steps, nb, steps);
    cuba_block(w, p, s, r0, nb, steps);
    for (int64_t t = 0; t < steps; t++)
        for (int b = 0; b < LANES; b++) w->g[t][b] = -fabsf(w->v[t][b] - s->theta) / tau;
    scatter(z + r0 * steps, w->g, nb, steps);
}

/* dL/dv = (amp * e) * ds, then the leaky-integrator backward of each stage; decay gradients need
 * the forward values, recomputed only if wanted. */
INLINE void backward_body(Scratch *w, const Params *p, const Shape *s, const float *ds, const float *e,
                          const float *x, float *gx, double *gcd, double *gvd, float amp, int64_t r0, int nb,
                          int64_t steps) {
    lane_params(w, p, s, r0, nb);
    if (gcd || gvd) {
        gather(w->x, x + r0 * steps, nb, steps);
        cuba_block(w, p, s, r0, nb, steps);
    }
    gather(w->g, ds + r0 * steps, nb, steps);
    gather(w->x, e + r0 * steps, nb, steps);
    for (int64_t t = 0; t < steps; t++)
        for (int b = 0; b < LANES; b++) w->g[t][b] = (amp * w->x[t][b]) * w->g[t][b];
    if (p->ckeep) {  /* g -> x (dL/dcurrent) -> g (dL/dinput) */
        li_back_block(w->g, w->x, w->v, steps, w->vfac, w->gvd);
        li_back_block(w->x, w->g, w->c, steps, w->cfac, w->gcd);
        scatter(gx + r0 * steps, w->g, nb, steps);
    } else {
        li_back_block(w->g, w->x, w->v, steps, w->vfac, w->gvd);
        scatter(gx + r0 * steps, w->x, nb, steps);
    }
    for (int b = 0; b < nb; b++) {
        if (gvd) gvd[r0 + b] = w->gvd[b];
        if (gcd && p->ckeep) gcd[r0 + b] = w->gcd[b];
    }
}

/* Calls BODY with `steps` a compile-time constant for the common T, so loops over t unroll. */
#define DISPATCH_T(steps, BODY)  \
    switch (steps) {             \
        case 4: BODY(4); break;  \
        case 8: BODY(8); break;  \
        default: BODY(steps); break; \
    }

VECTOR_CLONES static void forward_block(Scratch *w, const Params *p, const Shape *s, const float *x, float *spikes,
                                        int64_t r0, int nb) {
#define FWD(T_) forward_body(w, p, s, x, spikes, r0, nb, (T_))
    DISPATCH_T(s->steps, FWD)
#undef FWD
}

VECTOR_CLONES static void surrogate_block(Scratch *w, const Params *p, const Shape *s, const float *x, float *z,
                                          float tau, int64_t r0, int nb) {
#define SUR(T_) surrogate_body(w, p, s, x, z, tau, r0, nb, (T_))
    DISPATCH_T(s->steps, SUR)
#undef SUR
}

VECTOR_CLONES static void backward_block(Scratch *w, const Params *p, const Shape *s, const float *ds, const float *e,
                                         const float *x, float *gx, double *gcd, double *gvd, float amp, int64_t r0,
                                         int nb) {
#define BWD(T_) backward_body(w, p, s, ds, e, x, gx, gcd, gvd, amp, r0, nb, (T_))
    DISPATCH_T(s->steps, BWD)
#undef BWD
}

/* Runs BLOCK(r0, nb) over all row blocks on `threads` threads, each with its own Scratch. */
#define FOR_BLOCKS(rows, threads, BLOCK)                                              \
    int64_t blocks_ = ((rows) + LANES - 1) / LANES;                                    \
    int failed_ = 0;                                                                   \
    _Pragma("omp parallel num_threads(threads)")                                       \
    {                                                                                  \
        Scratch *sc = malloc(sizeof(Scratch));                                         \
        if (!sc) failed_ = 1;                                                          \
        _Pragma("omp for schedule(static)")                                            \
        for (int64_t blk = 0; blk < blocks_; blk++) {                                  \
            if (!sc) continue;                                                         \
            int64_t r0 = blk * LANES;                                                  \
            int nb = (rows) - r0 < LANES ? (int)((rows) - r0) : LANES;                 \
            BLOCK;                                                                     \
        }                                                                              \
        free(sc);                                                                      \
    }                                                                                  \
    return failed_ ? 2 : 0;

/* CUBA forward: x (input current, or the normalised current when ckeep is NULL) -> spikes.
 * cstate, vstate: initial states per row (NULL: zero). */
int cuba_forward(const float *x, float *spikes, const float *cstate, const float *vstate, int64_t rows,
                 int64_t steps, int64_t neurons, const int64_t *ckeep, const int64_t *vkeep, float w,
                 int reset, float theta_w, float theta, int threads) {
    if (steps < 1 || steps > MAX_T || neurons < 1 || threads < 1) return 1;
    Shape s = {rows, steps, neurons, w, theta_w, reset, theta};
    Params p = {cstate, vstate, ckeep, vkeep, NULL, NULL};
    FOR_BLOCKS(rows, threads, forward_block(sc, &p, &s, x, spikes, r0, nb))
}

/* The surrogate's argument z = -|v - theta| / tau of every (row, step), v recomputed from x. */
int cuba_surrogate_arg(const float *x, float *z, const float *cstate, const float *vstate, int64_t rows,
                       int64_t steps, int64_t neurons, const int64_t *ckeep, const int64_t *vkeep, float w,
                       int reset, float theta_w, float theta, float tau, int threads) {
    if (steps < 1 || steps > MAX_T || neurons < 1 || threads < 1) return 1;
    Shape s = {rows, steps, neurons, w, theta_w, reset, theta};
    Params p = {cstate, vstate, ckeep, vkeep, NULL, NULL};
    FOR_BLOCKS(rows, threads, surrogate_block(sc, &p, &s, x, z, tau, r0, nb))
}

/* CUBA backward: ds (dL/dspikes) and e = exp(z) -> gx (dL/dx), per-row decay gradients gcd, gvd
 * (NULL: not wanted; gcd is only written when ckeep is given). amp = scale_rho / 2 / tau (float32). */
int cuba_backward(const float *ds, const float *e, const float *x, float *gx, double *gcd, double *gvd,
                  const float *cstate, const float *vstate, int64_t rows, int64_t steps, int64_t neurons,
                  const int64_t *ckeep, const int64_t *vkeep, const float *cfactor, const float *vfactor, float w,
                  int reset, float theta_w, float theta, float amp, int threads) {
    if (steps < 1 || steps > MAX_T || neurons < 1 || threads < 1) return 1;
    Shape s = {rows, steps, neurons, w, theta_w, reset, theta};
    Params p = {cstate, vstate, ckeep, vkeep, cfactor, vfactor};
    FOR_BLOCKS(rows, threads, backward_block(sc, &p, &s, ds, e, x, gx, gcd, gvd, amp, r0, nb))
}

INLINE void li_forward_body(Scratch *sc, const float *x, float *out, const float *state, const int64_t *keep,
                            const Shape *s, int64_t r0, int nb, int64_t steps) {
    int64_t n = r0 % s->neurons;
    for (int b = 0; b < LANES; b++) {
        int live = b < nb;
        sc->vkeep[b] = (double)keep[n];
        sc->v0[b] = live ? (double)initial(state, r0 + b, s->w) : 0.0;
        if (live && ++n == s->neurons) n = 0;
    }
    gather(sc->x, x + r0 * steps, nb, steps);
    if (li_block(sc->x, sc->v, steps, sc->v0, sc->vkeep, s->w, s->reset, s->theta_w) == 0) {
        scatter(out + r0 * steps, sc->v, nb, steps);
        return;
    }
    for (int b = 0; b < nb; b++) {  /* exact int64 path, row by row */
        int64_t r = r0 + b;
        li_row(x + r * steps, out + r * steps, steps, initial(state, r, s->w), keep[r % s->neurons], s->w, s->reset,
               s->theta_w);
    }
}

VECTOR_CLONES static void li_forward_block(Scratch *sc, const float *x, float *out, const float *state,
                                           const int64_t *keep, const Shape *s, int64_t r0, int nb) {
#define LIF(T_) li_forward_body(sc, x, out, state, keep, s, r0, nb, (T_))
    DISPATCH_T(s->steps, LIF)
#undef LIF
}

/* lava-dl's _li_dynamics_fwd (one stage; reset if `reset`). state: per row or NULL (zero). */
int li_forward(const float *x, float *out, const float *state, int64_t rows, int64_t steps, int64_t neurons,
               const int64_t *keep, float w, int reset, float theta_w, int threads) {
    if (steps < 1 || steps > MAX_T || neurons < 1 || threads < 1) return 1;
    Shape s = {rows, steps, neurons, w, theta_w, reset, 0.0f};
    FOR_BLOCKS(rows, threads, li_forward_block(sc, x, out, state, keep, &s, r0, nb))
}
