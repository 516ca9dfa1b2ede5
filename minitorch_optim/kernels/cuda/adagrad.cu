// Adagrad (adagrad.py: adagrad_update, adagrad_lr).
// sc: hyper = [lr, lr_decay, eps, weight_decay]; row = [clr]; dstate: [step].
#include "fused_common.h"

#define ADAGRAD_NHP 4
#define ADAGRAD_NSC 1

template <typename T>
__global__ void adagrad_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], lr_decay = sc[1], eps = sc[2], wd = sc[3];
    const bool maximize = flags & F_MAXIMIZE;
    const M c_wd = (M)wd, c_eps = (M)eps;
    MT_FOR_ROWS(r) {
        const long long row = ent[3 * r + 2];
        double clr = sc[ADAGRAD_NHP + ADAGRAD_NSC * row];
        if (dstate) clr = lr / (1.0 + (((double)dstate[row * ds_stride] + 1.0) - 1.0) * lr_decay);
        const M c_nclr = (M)(-clr);
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& acc, M&, M&) {
            M gg = maximize ? -gr : gr;
            if (wd != 0.0) gg = gg + x * c_wd;
            acc = acc + gg * gg;
            M std = sqrt(acc) + c_eps;
            x = x + (gg * c_nclr) / std;
        });
    }
}

template <typename T>
__global__ void adagrad_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        st[0] = (float)((double)st[0] + 1.0);
    }
}
