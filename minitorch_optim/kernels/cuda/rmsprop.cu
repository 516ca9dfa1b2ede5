// RMSprop (rmsprop.py: rmsprop_update). Buffers: b0 square_avg, b1 momentum_buffer, b2 grad_avg.
// sc: hyper = [lr, alpha, eps, weight_decay, momentum]; no row scalars; dstate: [step].
#include "fused_common.h"

#define RMSPROP_NHP 5

template <typename T>
__global__ void rmsprop_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0], alpha = sc[1], eps = sc[2], wd = sc[3], momentum = sc[4];
    const bool maximize = flags & F_MAXIMIZE, centered = flags & F_CENTERED;
    const M c_wd = (M)wd, c_alpha = (M)alpha, c_1ma = (M)(1.0 - alpha), c_eps = (M)eps, c_mom = (M)momentum;
    const M c_nlr = (M)(-lr);
    MT_FOR_ROWS(r) {
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& sq, M& buf, M& mean) {
            M gg = maximize ? -gr : gr;
            if (wd != 0.0) gg = gg + x * c_wd;
            sq = sq * c_alpha;
            sq = sq + (gg * c_1ma) * gg;
            M avg;
            if (centered) {
                mean = mt_lerp(mean, gg, 1.0 - alpha);
                avg = sq + (mean * M(-1)) * mean;
                avg = sqrt(avg);
            } else {
                avg = sqrt(sq);
            }
            avg = avg + c_eps;
            if (momentum > 0.0) {
                buf = buf * c_mom;
                buf = buf + gg / avg;
                x = x + buf * c_nlr;
            } else {
                x = x + (gg * c_nlr) / avg;
            }
        });
    }
}

template <typename T>
__global__ void rmsprop_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        st[0] = (float)((double)st[0] + 1.0);
    }
}
