// Adam / AdamW (adam.py: adam_update, adam_scalars), one launch for every run of a flat group.
// sc: hyper = [lr, beta1, beta2, eps, weight_decay]; row = [step_size, bias_correction2_sqrt]
// dstate (found_inf mode): [step] per parameter.
#include "fused_common.h"

#define ADAM_NHP 5
#define ADAM_NSC 2

__device__ __forceinline__ void adam_scalars_at(const double* sc, double step, double* out) {
    const double lr = sc[0], beta1 = sc[1], beta2 = sc[2];
    const double bc1 = 1.0 - pow(beta1, step), bc2 = 1.0 - pow(beta2, step);
    out[0] = lr / bc1;
    out[1] = pow(bc2, 0.5);
}

template <typename T>
__global__ void adam_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], beta1 = sc[1], beta2 = sc[2], eps = sc[3], wd = sc[4];
    const bool maximize = flags & F_MAXIMIZE, amsgrad = flags & F_AMSGRAD, decoupled = flags & F_DECOUPLED;
    const M c_decay = (M)(1.0 - lr * wd), c_wd = (M)wd, c_b2 = (M)beta2, c_1mb2 = (M)(1.0 - beta2);
    const M c_eps = (M)eps;
    MT_FOR_ROWS(r) {
        const long long row = ent[3 * r + 2];
        double s[ADAM_NSC] = {sc[ADAM_NHP + ADAM_NSC * row], sc[ADAM_NHP + ADAM_NSC * row + 1]};
        if (dstate) adam_scalars_at(sc, (double)dstate[row * ds_stride] + 1.0, s);
        const M c_bc2 = (M)s[1], c_nss = (M)(-s[0]);
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& m, M& v, M& vmax) {
            mt_adam_moments(x, gr, m, v, maximize, wd != 0.0, decoupled, c_decay, c_wd, beta1, c_b2, c_1mb2);
            M denom;
            if (amsgrad) { vmax = mt_max(vmax, v); denom = sqrt(vmax); }
            else denom = sqrt(v);
            denom = denom / c_bc2;
            denom = denom + c_eps;
            x = x + (m * c_nss) / denom;
        });
    }
}

template <typename T>
__global__ void adam_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        st[0] = (float)((double)st[0] + 1.0);
    }
}
