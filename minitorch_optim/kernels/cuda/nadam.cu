// NAdam (nadam.py: nadam_update, nadam_scalars). Buffers: b0 exp_avg, b1 exp_avg_sq.
// sc: hyper = [lr, beta1, beta2, eps, weight_decay, momentum_decay];
// row = [bias_correction2, grad_coef, avg_coef]; dstate: [step, mu_product].
#include "fused_common.h"

#define NADAM_NHP 6
#define NADAM_NSC 3

__device__ __forceinline__ double nadam_mu(double beta1, double md, double step) {
    return beta1 * (1.0 - 0.5 * pow(0.96, step * md));
}

// the row scalars at the device's step, and the new mu_product (rounded to float32 as stored)
__device__ __forceinline__ float nadam_scalars_at(const double* sc, const float* st, double* out) {
    const double lr = sc[0], beta1 = sc[1], beta2 = sc[2], md = sc[5], step = (double)st[0] + 1.0;
    const double mu = nadam_mu(beta1, md, step), mu_next = nadam_mu(beta1, md, step + 1.0);
    const float mu_product = st[1] * (float)mu;
    const double mp_next = (double)mu_product * mu_next;
    out[0] = 1.0 - pow(beta2, step);
    out[1] = -lr * (1.0 - mu) / (1.0 - (double)mu_product);
    out[2] = (-lr * mu_next) / (1.0 - mp_next);
    return mu_product;
}

template <typename T>
__global__ void nadam_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], beta1 = sc[1], beta2 = sc[2], eps = sc[3], wd = sc[4];
    const bool maximize = flags & F_MAXIMIZE, decoupled = flags & F_DECOUPLED;
    const M c_decay = (M)(1.0 - lr * wd), c_wd = (M)wd, c_b2 = (M)beta2, c_1mb2 = (M)(1.0 - beta2);
    const M c_eps = (M)eps;
    MT_FOR_ROWS(r) {
        const long long row = ent[3 * r + 2];
        const double* rs = sc + NADAM_NHP + NADAM_NSC * row;
        double s[NADAM_NSC] = {rs[0], rs[1], rs[2]};
        if (dstate) nadam_scalars_at(sc, dstate + row * ds_stride, s);
        const M c_bc2 = (M)s[0], c_gc = (M)s[1], c_ac = (M)s[2];
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& m, M& v, M&) {
            M gg = mt_adam_moments(x, gr, m, v, maximize, wd != 0.0, decoupled, c_decay, c_wd, beta1, c_b2,
                                   c_1mb2);
            M denom = sqrt(v / c_bc2) + c_eps;
            x = x + (gg * c_gc) / denom;
            x = x + (m * c_ac) / denom;
        });
    }
}

template <typename T>
__global__ void nadam_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        double out[NADAM_NSC];
        const float mu_product = nadam_scalars_at(sc, st, out);
        st[0] = (float)((double)st[0] + 1.0);
        st[1] = mu_product;
    }
}
