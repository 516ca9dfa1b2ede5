// Adamax (adamax.py: adamax_update). Buffers: b0 exp_avg, b1 exp_inf.
// sc: hyper = [lr, beta1, beta2, eps, weight_decay]; row = [clr]; dstate: [step].
#include "fused_common.h"

#define ADAMAX_NHP 5
#define ADAMAX_NSC 1

template <typename T>
__global__ void adamax_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], beta1 = sc[1], beta2 = sc[2], eps = sc[3], wd = sc[4];
    const bool maximize = flags & F_MAXIMIZE;
    const M c_wd = (M)wd, c_b2 = (M)beta2, c_eps = (M)eps;
    MT_FOR_ROWS(r) {
        const long long row = ent[3 * r + 2];
        double clr = sc[ADAMAX_NHP + ADAMAX_NSC * row];
        if (dstate) clr = lr / (1.0 - pow(beta1, (double)dstate[row * ds_stride] + 1.0));
        const M c_nclr = (M)(-clr);
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& m, M& u, M&) {
            M gg = maximize ? -gr : gr;
            if (wd != 0.0) gg = gg + x * c_wd;
            m = mt_lerp(m, gg, 1.0 - beta1);
            u = u * c_b2;
            u = mt_max(u, mt_abs(gg) + c_eps);
            x = x + (m * c_nclr) / u;
        });
    }
}

template <typename T>
__global__ void adamax_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        st[0] = (float)((double)st[0] + 1.0);
    }
}
