/* One fused pass per layer and step for the bit-exact executor (backends/executor.py).
 *
 * The torch executor runs a neuron update as 10-20 separate int64 tensor operations, each a full
 * read and write of the layer's state; these kernels do the same integer arithmetic per neuron
 * in one pass: read the synaptic sums (float32, exact integers: see fixed_point.sums_exact_in_float32),
 * clamp them like Lava's conv, update the 24-bit state (held in int32; intermediates in int64, or
 * in doubles where every value is an integer below 2**52, which is as exact and vectorises),
 * write the output as float32 (the next synapse's input type) and count the events. Also the
 * OR pool of a spiking layer, and the per-neuron / per-sample sums of the event tallies.
 *
 * The arithmetic is fixed_point.py's, operation for operation (asnn_input / asnn_update /
 * asnn_fire; lif_step; delay_push_select); the executor's torch path stays the reference and
 * the tests compare the two bit for bit.
 *
 * Layout: every array is (n, neurons) row-major, flattened to `size` = n * neurons elements;
 * per-neuron arrays (bias, delay) have `neurons` elements. A NULL `acc` is a port that is not
 * driven this step; a NULL `count` skips counting (pipeline-fill steps).
 *
 * Plain C (no Python or torch headers): built on first use by neurons/native.py, called via ctypes.
 */
#include <math.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define DECAY_BITS 12
#define DECAY_ONE (1 << DECAY_BITS)
#define STATE_LIMIT ((1 << 23) - 1)
#define LIF_MAX_UV (1 << 23)
#define LIF_SHIFT 6

#define INLINE static inline __attribute__((always_inline))
/* An AVX2 clone next to the baseline one where the compiler can make them (x86-64, gcc/clang). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__INTEL_COMPILER)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif
#define PAR_MIN 32768 /* elements: below this one thread does the pass */

/* An exact integer held in a float, clamped to [-c, c] (Lava's conv clamp; c = 0: no clamp). */
INLINE int64_t read_acc(const float *acc, int64_t i, float c) {
    float a = acc[i];
    if (c > 0.0f) a = a < -c ? -c : (a > c ? c : a);
    return (int64_t)a;
}

/* Lava's LIF decay: sign(x) * ((|x| * (4096 - decay)) >> 12). */
INLINE int64_t lif_decay(int64_t x, int64_t decay) {
    int64_t m = ((x < 0 ? -x : x) * (DECAY_ONE - decay)) >> DECAY_BITS;
    return x < 0 ? -m : m;
}

INLINE int64_t pymod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

/* Runs BODY(i, j) for every element i of [0, size) and its neuron j = i mod neurons, split over
 * `threads` threads in contiguous ranges, each walked row segment by row segment (so j needs no
 * division per element); `total` sums what BODY returns. */
#ifdef _OPENMP
#define THREAD_RANGE(size, lo, hi)                                      \
    int nth_ = omp_get_num_threads(), id_ = omp_get_thread_num();       \
    int64_t lo = (size) * id_ / nth_, hi = (size) * (id_ + 1) / nth_;
#else
#define THREAD_RANGE(size, lo, hi) int64_t lo = 0, hi = (size);
#endif
#define FOR_ELEMENTS(size, neurons, threads, total, BODY)                                      \
    _Pragma("omp parallel num_threads(threads) reduction(+ : total) if (size >= PAR_MIN)")     \
    {                                                                                          \
        THREAD_RANGE(size, lo_, hi_)                                                           \
        for (int64_t i0_ = lo_; i0_ < hi_;) {                                                  \
            int64_t j0_ = i0_ % (neurons), end_ = i0_ + (neurons) - j0_;                       \
            if (end_ > hi_) end_ = hi_;                                                        \
            for (int64_t i = i0_, j = j0_; i < end_; i++, j++) total += BODY(i, j);             \
            i0_ = end_;                                                                        \
        }                                                                                      \
    }

/* The ASNN step is computed in double: every intermediate is an integer below 2**53 (the caller,
 * fixed_native.plan, checks (2**24 + |bias|) |gain| 2**max(0, -shift) against that), so sums and
 * products are exact and x * 2**-shift followed by floor is exactly the integer right shift with
 * its rounding offset. Doubles let the compiler vectorise the pass (4 lanes with AVX2), which
 * int64 multiplies do not; the AVX2 clone is chosen at load time where the CPU has it. */
typedef struct {
    const float *acc0; const double *bias0; float clamp0; double gain0, half0, scale0;
    const float *acc1; const double *bias1; float clamp1; double gain1, half1, scale1;
    int32_t *u; double leak, threshold, reset; int readout; float *out; int32_t *count;
} AsnnArgs;

INLINE double port_in(const float *restrict acc, const double *restrict bias, float c, double gain, double half,
                      double scale, int64_t i, int64_t j) {
    float a = acc[i];
    if (c > 0.0f) a = a < -c ? -c : (a > c ? c : a);
    return floor(((double)a + bias[j]) * gain * scale + half * scale);
}

/* Elements [i0, i0 + len) of one row, neurons j0.. ; HAS0 / HAS1 / COUNT are constants at each
 * call site, so each combination compiles to its own branch-free loop. */
INLINE int64_t asnn_run(const AsnnArgs *a, int64_t i0, int64_t j0, int64_t len, int has0, int has1, int count) {
    int32_t total = 0; /* len < 2**31: one row's segment */
    int32_t *restrict u = a->u + i0;
    float *restrict out = a->out + i0;
    int32_t *restrict cnt = a->count ? a->count + i0 : 0;
    const double lim = STATE_LIMIT, leak = a->leak / DECAY_ONE, lhalf = 0.5;
    for (int64_t k = 0; k < len; k++) {
        double cur = 0.0;
        if (has0) cur += port_in(a->acc0, a->bias0, a->clamp0, a->gain0, a->half0, a->scale0, i0 + k, j0 + k);
        if (has1) cur += port_in(a->acc1, a->bias1, a->clamp1, a->gain1, a->half1, a->scale1, i0 + k, j0 + k);
        double x = floor((double)u[k] * leak + lhalf) + cur;
        x = x < -lim ? -lim : (x > lim ? lim : x);
        if (a->readout) { /* sends its state; counts nothing */
            u[k] = (int32_t)x;
            out[k] = (float)x;
            continue;
        }
        int32_t e = x >= a->threshold;
        x -= e ? a->reset : 0.0;
        u[k] = (int32_t)x;
        out[k] = (float)e;
        if (count) {
            cnt[k] += e;
            total += e;
        }
    }
    return total;
}

CLONES int64_t asnn_segment(const AsnnArgs *a, int64_t i0, int64_t j0, int64_t len) {
    int mode = (a->acc0 != 0) | (a->acc1 != 0) << 1 | (a->count != 0) << 2;
    switch (mode) {
        case 0: return asnn_run(a, i0, j0, len, 0, 0, 0);
        case 1: return asnn_run(a, i0, j0, len, 1, 0, 0);
        case 2: return asnn_run(a, i0, j0, len, 0, 1, 0);
        case 3: return asnn_run(a, i0, j0, len, 1, 1, 0);
        case 4: return asnn_run(a, i0, j0, len, 0, 0, 1);
        case 5: return asnn_run(a, i0, j0, len, 1, 0, 1);
        case 6: return asnn_run(a, i0, j0, len, 0, 1, 1);
        default: return asnn_run(a, i0, j0, len, 1, 1, 1);
    }
}

/* ASNN step (neurons/asnn.py): u <- clip(round(leak u / 4096) + sum over driven ports of
 * round((acc + bias) gain 2**-shift), +-STATE_LIMIT); spike where u >= threshold, u -= reset.
 * readout: out = u, no spike. Biases in double (per neuron). Returns the events counted. */
int64_t asnn_step(int64_t size, int64_t neurons,
                  const float *acc0, const double *bias0, float clamp0, int64_t gain0, int shift0,
                  const float *acc1, const double *bias1, float clamp1, int64_t gain1, int shift1,
                  int32_t *u, int64_t leak, int64_t threshold, int64_t reset, int readout,
                  float *out, int32_t *count, int threads) {
    AsnnArgs a = {acc0, bias0, clamp0, (double)gain0, shift0 > 0 ? ldexp(1.0, shift0 - 1) : 0.0, ldexp(1.0, -shift0),
                  acc1, bias1, clamp1, (double)gain1, shift1 > 0 ? ldexp(1.0, shift1 - 1) : 0.0, ldexp(1.0, -shift1),
                  u, (double)leak, (double)threshold, (double)reset, readout, out, count};
    int64_t total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total) if (size >= PAR_MIN)
    {
        THREAD_RANGE(size, lo, hi)
        for (int64_t i0 = lo; i0 < hi;) {
            int64_t j0 = i0 % neurons, end = i0 + neurons - j0;
            if (end > hi) end = hi;
            total += asnn_segment(&a, i0, j0, end - i0);
            i0 = end;
        }
    }
    return total;
}

typedef struct {
    const float *acc0; float clamp0; const float *acc1; float clamp1; const int64_t *bias; const double *bias_f64;
    int32_t *ring; int64_t slots, slot, t; const int64_t *delay; int64_t size;
    int32_t *u, *v; int64_t du, dv, vth; float *out; int32_t *count;
} CubaArgs;

INLINE int cuba_one(const CubaArgs *c, int64_t i, int64_t j) {
    int64_t a = 0;
    if (c->acc0) a += read_acc(c->acc0, i, c->clamp0);
    if (c->acc1) a += read_acc(c->acc1, i, c->clamp1);
    if (c->ring) {
        c->ring[c->slot * c->size + i] = (int32_t)a;
        a = c->ring[pymod(c->t - c->delay[j], c->slots) * c->size + i];
    }
    int64_t x = lif_decay(c->u[i], c->du) + a * (1 << LIF_SHIFT);
    if (x > LIF_MAX_UV) x -= 2 * (int64_t)LIF_MAX_UV;
    if (x <= -LIF_MAX_UV) x += 2 * (int64_t)LIF_MAX_UV;
    int64_t y = lif_decay(c->v[i], c->dv) + x + c->bias[j] * (1 << LIF_SHIFT);
    y = y < -LIF_MAX_UV + 1 ? -LIF_MAX_UV + 1 : (y > LIF_MAX_UV - 1 ? LIF_MAX_UV - 1 : y);
    int s = y > c->vth;
    c->u[i] = (int32_t)x;
    c->v[i] = s ? 0 : (int32_t)y;
    c->out[i] = (float)s;
    if (c->count && s) {
        c->count[i] += 1;
        return 1;
    }
    return 0;
}

/* The CUBA update of a layer without delays, in exact doubles like the ASNN step: Lava's decay
 * sign(x) ((|x| (4096 - d)) >> 12) is trunc(x (4096 - d) / 4096), every value an integer below
 * 2**40 (the caller checks the bias). Branch-free, so the compiler vectorises it. */
INLINE int32_t cuba_run(const CubaArgs *c, int64_t i0, int64_t j0, int64_t len, int has0, int has1, int count) {
    int32_t total = 0;
    int32_t *restrict u = c->u + i0, *restrict v = c->v + i0;
    float *restrict out = c->out + i0;
    int32_t *restrict cnt = c->count ? c->count + i0 : 0;
    const double fu = (double)(DECAY_ONE - c->du) / DECAY_ONE, fv = (double)(DECAY_ONE - c->dv) / DECAY_ONE;
    const double m = LIF_MAX_UV, vth = (double)c->vth;
    for (int64_t k = 0; k < len; k++) {
        double a = 0.0;
        if (has0) {
            float q = c->acc0[i0 + k];
            if (c->clamp0 > 0.0f) q = q < -c->clamp0 ? -c->clamp0 : (q > c->clamp0 ? c->clamp0 : q);
            a += (double)q;
        }
        if (has1) {
            float q = c->acc1[i0 + k];
            if (c->clamp1 > 0.0f) q = q < -c->clamp1 ? -c->clamp1 : (q > c->clamp1 ? c->clamp1 : q);
            a += (double)q;
        }
        double x = trunc((double)u[k] * fu) + a * (1 << LIF_SHIFT);
        x = x > m ? x - 2 * m : x;
        x = x <= -m ? x + 2 * m : x;
        double y = trunc((double)v[k] * fv) + x + c->bias_f64[j0 + k] * (1 << LIF_SHIFT);
        y = y < -m + 1 ? -m + 1 : (y > m - 1 ? m - 1 : y);
        int32_t e = y > vth;
        u[k] = (int32_t)x;
        v[k] = e ? 0 : (int32_t)y;
        out[k] = (float)e;
        if (count) {
            cnt[k] += e;
            total += e;
        }
    }
    return total;
}

CLONES int64_t cuba_segment(const CubaArgs *c, int64_t i0, int64_t j0, int64_t len) {
    int mode = (c->acc0 != 0) | (c->acc1 != 0) << 1 | (c->count != 0) << 2;
    switch (mode) {
        case 0: return cuba_run(c, i0, j0, len, 0, 0, 0);
        case 1: return cuba_run(c, i0, j0, len, 1, 0, 0);
        case 2: return cuba_run(c, i0, j0, len, 0, 1, 0);
        case 3: return cuba_run(c, i0, j0, len, 1, 1, 0);
        case 4: return cuba_run(c, i0, j0, len, 0, 0, 1);
        case 5: return cuba_run(c, i0, j0, len, 1, 0, 1);
        case 6: return cuba_run(c, i0, j0, len, 0, 1, 1);
        default: return cuba_run(c, i0, j0, len, 1, 1, 1);
    }
}

/* CUBA step (neurons/cuba.py, fixed_point.lif_step): a_in = the sum of the driven ports; with a
 * delay line (ring: `slots` rows of `size`, delay per neuron) a_in is pushed into slot t mod
 * slots and the input of step t - delay read back. Then Lava's bit-accurate LIF:
 * u = decay(u, du) + a_in << 6, wrapped at 24 bits; v = decay(v, dv) + u + bias << 6, clipped;
 * spike where v > vth (already << 6), v = 0 there. du is the effective current decay (iDecay).
 * Returns the number of spikes counted. */
int64_t cuba_step(int64_t size, int64_t neurons,
                  const float *acc0, float clamp0, const float *acc1, float clamp1, const int64_t *bias,
                  const double *bias_f64,
                  int32_t *ring, int64_t slots, const int64_t *delay, int64_t t,
                  int32_t *u, int32_t *v, int64_t du, int64_t dv, int64_t vth,
                  float *out, int32_t *count, int threads) {
    CubaArgs c = {acc0, clamp0, acc1, clamp1, bias, bias_f64, ring, slots, ring ? pymod(t, slots) : 0, t, delay, size,
                  u, v, du, dv, vth, out, count};
    int64_t total = 0;
    if (!ring) { /* no delays: the vectorised pass */
#pragma omp parallel num_threads(threads) reduction(+ : total) if (size >= PAR_MIN)
        {
            THREAD_RANGE(size, lo, hi)
            for (int64_t i0 = lo; i0 < hi;) {
                int64_t j0 = i0 % neurons, end = i0 + neurons - j0;
                if (end > hi) end = hi;
                total += cuba_segment(&c, i0, j0, end - i0);
                i0 = end;
            }
        }
        return total;
    }
#define CUBA_BODY(i, j) cuba_one(&c, i, j)
    FOR_ELEMENTS(size, neurons, threads, total, CUBA_BODY)
    return total;
}

INLINE float max2(float a, float b) { return a > b ? a : b; }

/* One output row of an OR pool: kw == 2 (the common 2x2 pool) in its own loop the compiler vectorises. */
CLONES int32_t or_pool_row(const float *restrict xp, int64_t w, int64_t kh, int64_t kw, int64_t ow,
                           float *restrict out, int32_t *restrict count) {
    int32_t total = 0;
    if (kh == 2 && kw == 2) {
        const float *restrict r0 = xp, *restrict r1 = xp + w;
        for (int64_t j = 0; j < ow; j++) {
            int32_t e = max2(max2(r0[2 * j], r0[2 * j + 1]), max2(r1[2 * j], r1[2 * j + 1])) > 0.0f;
            out[j] = (float)e;
            if (count) count[j] += e;
            total += e;
        }
        return total;
    }
    for (int64_t j = 0; j < ow; j++) {
        float m = 0.0f;
        for (int64_t a = 0; a < kh; a++)
            for (int64_t b = 0; b < kw; b++) m = max2(m, xp[a * w + j * kw + b]);
        int32_t e = m > 0.0f;
        out[j] = (float)e;
        if (count) count[j] += e;
        total += e;
    }
    return total;
}

/* The OR pool of a spiking layer (ir.or_pool; kernel == stride, no padding): out = 1 where any
 * input of the (kh, kw) window is > 0, else 0 (max_pool2d(x) > 0); the windows tile (h, w) from
 * the corner, a remainder is dropped. x: (planes, h, w), out: (planes, h / kh, w / kw). Counts
 * like the neuron steps; returns the number of ones (counted or not). */
int64_t or_pool(const float *x, int64_t planes, int64_t h, int64_t w, int64_t kh, int64_t kw,
                float *out, int32_t *count, int threads) {
    int64_t oh = h / kh, ow = w / kw, total = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total) if (planes * h * w >= PAR_MIN)
    for (int64_t c = 0; c < planes; c++) {
        for (int64_t i = 0; i < oh; i++) {
            int64_t o = (c * oh + i) * ow;
            total += or_pool_row(x + c * h * w + i * kh * w, w, kh, kw, ow, out + o, count ? count + o : 0);
        }
    }
    return total;
}

/* The per-neuron and per-sample sums of an (n, neurons) event tally, in int64. */
void tally_sums(const int32_t *count, int64_t n, int64_t neurons, int64_t *per_neuron, int64_t *per_sample) {
    for (int64_t j = 0; j < neurons; j++) per_neuron[j] = 0;
    for (int64_t r = 0; r < n; r++) {
        const int32_t *row = count + r * neurons;
        int64_t s = 0;
        for (int64_t j = 0; j < neurons; j++) {
            per_neuron[j] += row[j];
            s += row[j];
        }
        per_sample[r] = s;
    }
}

/* All `steps` steps of one layer (the executor's layer-by-layer order): step t reads its ports'
 * sums at row0[t] / row1[t] (in units of `size` elements; < 0: the port is not driven at t) and
 * writes out + t * size; events[t] gets the step's count. gain / leak: the step's schedule. */
void asnn_steps(int64_t steps, int64_t size, int64_t neurons,
                const float *acc0, const int64_t *row0, const double *bias0, float clamp0, int shift0,
                const float *acc1, const int64_t *row1, const double *bias1, float clamp1, int shift1,
                const int64_t *gain, const int64_t *leak, int32_t *u, int64_t threshold, int64_t reset, int readout,
                float *out, int32_t *count, int64_t *events, int threads) {
    for (int64_t t = 0; t < steps; t++)
        events[t] = asnn_step(size, neurons, row0[t] >= 0 ? acc0 + row0[t] * size : 0, bias0, clamp0, gain[t], shift0,
                              row1[t] >= 0 ? acc1 + row1[t] * size : 0, bias1, clamp1, gain[t], shift1, u, leak[t],
                              threshold, reset, readout, out + t * size, count, threads);
}

/* All steps of a CUBA layer, as asnn_steps. */
void cuba_steps(int64_t steps, int64_t size, int64_t neurons,
                const float *acc0, const int64_t *row0, float clamp0, const float *acc1, const int64_t *row1,
                float clamp1, const int64_t *bias, const double *bias_f64, int32_t *ring, int64_t slots,
                const int64_t *delay, int32_t *u, int32_t *v, int64_t du, int64_t dv, int64_t vth,
                float *out, int32_t *count, int64_t *events, int threads) {
    for (int64_t t = 0; t < steps; t++)
        events[t] = cuba_step(size, neurons, row0[t] >= 0 ? acc0 + row0[t] * size : 0, clamp0,
                              row1[t] >= 0 ? acc1 + row1[t] * size : 0, clamp1, bias, bias_f64, ring, slots, delay, t,
                              u, v, du, dv, vth, out + t * size, count, threads);
}

/* All steps of an OR pool: x (steps, planes, h, w) -> out (steps, planes, h / kh, w / kw). */
void or_pool_steps(int64_t steps, const float *x, int64_t planes, int64_t h, int64_t w, int64_t kh, int64_t kw,
                   float *out, int32_t *count, int64_t *events, int threads) {
    for (int64_t t = 0; t < steps; t++)
        events[t] = or_pool(x + t * planes * h * w, planes, h, w, kh, kw, out + t * planes * (h / kh) * (w / kw),
                            count, threads);
}
