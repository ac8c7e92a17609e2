/* ASNN dynamics on the CPU in one pass over time, for time-last float32 tensors.
 *
 * Layout: every array is (rows, T) row-major, i.e. a contiguous (..., T) torch tensor with
 * rows = numel / T. Each row is one neuron; its T steps are adjacent in memory, so a neuron's
 * whole trajectory is computed from one cache line or two, with no copies to a time-first layout.
 *
 * Forward  (per neuron):  u = lam[t] u + g[t] I[t]  [rounded to q if q > 0];  u_pre[t] = u;
 *                         s[t] = (u >= theta);  u -= theta s[t].
 * Backward (reset path detached, straight-through rounding):
 *   gu[t]   = dL/ds[t] * a sig(a (u_pre[t] - theta)) (1 - sig(...)) + lam[t+1] gu[t+1]
 *   dL/dI[t] = g[t] gu[t];  dL/dg[t] += gu[t] I[t];  dL/dlam[t] += gu[t] (u_pre[t-1] - theta s[t-1]).
 * The schedule gradients are summed per thread in double, then over threads in a fixed order.
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

static inline float round_to(float u, float q) { return floorf(u / q + 0.5f) * q; }

int asnn_forward(const float *cur, float *u_pre, float *spikes, int64_t rows, int64_t steps,
                 const float *lam, const float *gain, float theta, float q, int threads) {
    if (steps < 1 || steps > MAX_T) return 1;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t r = 0; r < rows; r++) {
        const float *i_r = cur + r * steps;
        float *p_r = u_pre + r * steps, *s_r = spikes + r * steps;
        float u = 0.0f;
        for (int64_t t = 0; t < steps; t++) {
            u = lam[t] * u + gain[t] * i_r[t];
            if (q > 0.0f) u = round_to(u, q);
            p_r[t] = u;
            float s = u >= theta ? 1.0f : 0.0f;
            s_r[t] = s;
            u -= theta * s;
        }
    }
    return 0;
}

int asnn_backward(const float *grad_s, const float *cur, const float *u_pre, int64_t rows, int64_t steps,
                  const float *lam, const float *gain, float theta, float alpha,
                  float *grad_cur, double *grad_lam, double *grad_gain, int threads) {
    if (steps < 1 || steps > MAX_T || threads < 1) return 1;
    double *acc = calloc((size_t)threads * 2 * steps, sizeof(double));
    if (!acc) return 2;
#pragma omp parallel num_threads(threads)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        double *my_lam = acc + (size_t)tid * 2 * steps, *my_gain = my_lam + steps;
        float gu[MAX_T];
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *gs = grad_s + r * steps, *i_r = cur + r * steps, *p_r = u_pre + r * steps;
            float *gc = grad_cur + r * steps;
            float carry = 0.0f;
            for (int64_t t = steps - 1; t >= 0; t--) {
                float sig = 1.0f / (1.0f + expf(-alpha * (p_r[t] - theta)));
                float g = gs[t] * alpha * sig * (1.0f - sig) + carry;
                gu[t] = g;
                carry = lam[t] * g;
            }
            for (int64_t t = 0; t < steps; t++) {
                gc[t] = gain[t] * gu[t];
                my_gain[t] += (double)gu[t] * i_r[t];
                if (t > 0) {
                    float prev = p_r[t - 1];
                    my_lam[t] += (double)gu[t] * (prev >= theta ? prev - theta : prev);
                }
            }
        }
    }
    memset(grad_lam, 0, (size_t)steps * sizeof(double));
    memset(grad_gain, 0, (size_t)steps * sizeof(double));
    for (int k = 0; k < threads; k++) {
        for (int64_t t = 0; t < steps; t++) {
            grad_lam[t] += acc[(size_t)k * 2 * steps + t];
            grad_gain[t] += acc[(size_t)k * 2 * steps + steps + t];
        }
    }
    free(acc);
    return 0;
}
