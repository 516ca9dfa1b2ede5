// ASGD (asgd.py: asgd_update, asgd_eta, asgd_mu). Buffer: b0 ax.
// sc: hyper = [lr, lambd, alpha, t0, weight_decay]; row = [eta, mu]; dstate: [step, eta, mu].
#include "fused_common.h"

#define ASGD_NHP 5
#define ASGD_NSC 2

template <typename T>
__global__ void asgd_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lambd = sc[1], wd = sc[4];
    const bool maximize = flags & F_MAXIMIZE;
    const M c_wd = (M)wd;
    MT_FOR_ROWS(r) {
        const long long row = ent[3 * r + 2];
        double eta = sc[ASGD_NHP + ASGD_NSC * row], mu = sc[ASGD_NHP + ASGD_NSC * row + 1];
        if (dstate) { eta = dstate[row * ds_stride + 1]; mu = dstate[row * ds_stride + 2]; }
        const M c_shrink = (M)(1.0 - lambd * eta), c_neta = (M)(-eta), c_mu = (M)mu;
        const bool average = mu != 1.0;
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& ax, M&, M&) {
            M gg = maximize ? -gr : gr;
            if (wd != 0.0) gg = gg + x * c_wd;
            x = x * c_shrink;
            x = x + gg * c_neta;
            ax = average ? ax + (x - ax) * c_mu : x;
        });
    }
}

template <typename T>
__global__ void asgd_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], lambd = sc[1], alpha = sc[2], t0 = sc[3];
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        const double step = (double)st[0] + 1.0, past = step - t0;
        st[0] = (float)step;
        st[1] = (float)(lr / pow(1.0 + lambd * lr * step, alpha));
        st[2] = (float)(1.0 / (past > 1.0 ? past : 1.0));
    }
}
