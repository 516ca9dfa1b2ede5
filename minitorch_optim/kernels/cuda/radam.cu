// RAdam (radam.py: radam_update, radam_scalars). Buffers: b0 exp_avg, b1 exp_avg_sq.
// sc: hyper = [lr, beta1, beta2, eps, weight_decay]; row = [bias_correction1, bias_correction2, rect]
// (rect < 0: not rectified this step); dstate: [step].
#include "fused_common.h"

#define RADAM_NHP 5
#define RADAM_NSC 3

__device__ __forceinline__ void radam_scalars_at(const double* sc, double step, double* out) {
    const double beta1 = sc[1], beta2 = sc[2];
    const double bc1 = 1.0 - pow(beta1, step), bc2 = 1.0 - pow(beta2, step);
    const double rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * step * pow(beta2, step) / bc2;
    out[0] = bc1;
    out[1] = bc2;
    out[2] = rho_t > 5.0 ? pow((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t),
                               0.5)
                         : -1.0;
}

template <typename T>
__global__ void radam_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], beta1 = sc[1], beta2 = sc[2], eps = sc[3], wd = sc[4];
    const bool maximize = flags & F_MAXIMIZE, decoupled = flags & F_DECOUPLED;
    const M c_decay = (M)(1.0 - lr * wd), c_wd = (M)wd, c_b2 = (M)beta2, c_1mb2 = (M)(1.0 - beta2);
    const M c_eps = (M)eps, c_lr = (M)lr;
    MT_FOR_ROWS(r) {
        const long long row = ent[3 * r + 2];
        const double* rs = sc + RADAM_NHP + RADAM_NSC * row;
        double s[RADAM_NSC] = {rs[0], rs[1], rs[2]};
        if (dstate) radam_scalars_at(sc, (double)dstate[row * ds_stride] + 1.0, s);
        const bool rectify = s[2] >= 0.0;
        const M c_bc1 = (M)s[0], c_bc2s = (M)pow(s[1], 0.5), c_rect = (M)s[2];
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& m, M& v, M&) {
            mt_adam_moments(x, gr, m, v, maximize, wd != 0.0, decoupled, c_decay, c_wd, beta1, c_b2, c_1mb2);
            M upd = (m / c_bc1) * c_lr;
            if (rectify) {
                M denom = sqrt(v) + c_eps;
                upd = (upd * (c_bc2s / denom)) * c_rect;
            }
            x = x - upd;
        });
    }
}

template <typename T>
__global__ void radam_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        st[0] = (float)((double)st[0] + 1.0);
    }
}
