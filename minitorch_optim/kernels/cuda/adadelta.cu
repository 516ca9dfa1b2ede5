// Adadelta (adadelta.py: adadelta_update). Buffers: b0 square_avg, b1 acc_delta.
// sc: hyper = [lr, rho, eps, weight_decay]; no row scalars; dstate: [step].
#include "fused_common.h"

#define ADADELTA_NHP 4

template <typename T>
__global__ void adadelta_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], rho = sc[1], eps = sc[2], wd = sc[3];
    const bool maximize = flags & F_MAXIMIZE;
    const M c_wd = (M)wd, c_rho = (M)rho, c_1mr = (M)(1.0 - rho), c_eps = (M)eps, c_nlr = (M)(-lr);
    MT_FOR_ROWS(r) {
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& v, M& u, M&) {
            M gg = maximize ? -gr : gr;
            if (wd != 0.0) gg = gg + x * c_wd;
            v = v * c_rho;
            v = v + (gg * c_1mr) * gg;
            M rms_g = sqrt(v + c_eps);
            M delta = sqrt(u + c_eps);
            delta = delta / rms_g;
            delta = delta * gg;
            u = u * c_rho;
            u = u + (delta * c_1mr) * delta;
            x = x + delta * c_nlr;
        });
    }
}

template <typename T>
__global__ void adadelta_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        st[0] = (float)((double)st[0] + 1.0);
    }
}
