// SGD (sgd.py: sgd_update): momentum, dampening, Nesterov, weight decay, maximize, first step.
// sc: hyper = [lr, momentum, dampening, weight_decay]; row = [first]. SGD keeps no scalar state.
#include "fused_common.h"

#define SGD_NHP 4
#define SGD_NSC 1

template <typename T>
__global__ void sgd_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], momentum = sc[1], dampening = sc[2], wd = sc[3];
    const bool maximize = flags & F_MAXIMIZE, nesterov = flags & F_NESTEROV;
    const M c_wd = (M)wd, c_mom = (M)momentum, c_damp = (M)(1.0 - dampening), c_nlr = (M)(-lr);
    MT_FOR_ROWS(r) {
        const long long row = ent[3 * r + 2];
        const bool first = sc[SGD_NHP + SGD_NSC * row] != 0.0;
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& buf, M&, M&) {
            M gg = maximize ? -gr : gr;
            if (wd != 0.0) gg = gg + x * c_wd;
            if (momentum != 0.0) {
                if (first) buf = gg;
                else { buf = buf * c_mom; buf = buf + gg * c_damp; }
                gg = nesterov ? gg + buf * c_mom : buf;
            }
            x = x + gg * c_nlr;
        });
    }
}

template <typename T>
__global__ void sgd_advance(MT_ADV_ARGS) {}
