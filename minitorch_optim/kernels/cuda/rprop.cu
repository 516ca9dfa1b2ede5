// Rprop (rprop.py: rprop_update). Buffers: b0 prev, b1 step_size.
// sc: hyper = [lr, etaminus, etaplus, step_size_min, step_size_max]; row = [first]; dstate: [step].
#include "fused_common.h"

#define RPROP_NHP 5
#define RPROP_NSC 1

template <typename T>
__global__ void rprop_step(MT_STEP_ARGS(T)) {
    typedef typename MathOf<T>::type M;
    if (mt_skip(found_inf)) return;
    const double lr = sc[0];
    const bool maximize = flags & F_MAXIMIZE;
    const M c_lr = (M)lr, c_minus = (M)sc[1], c_plus = (M)sc[2], c_lo = (M)sc[3], c_hi = (M)sc[4];
    MT_FOR_ROWS(r) {
        const bool first = sc[RPROP_NHP + RPROP_NSC * ent[3 * r + 2]] != 0.0;
        mt_for_row(p, g, b0, b1, b2, ent[3 * r], ent[3 * r + 1], grad_scale,
                   [&](M& x, M& gr, M& prev, M& size, M&) {
            M gg = maximize ? -gr : gr;
            if (first) size = c_lr;
            const M agree = gg * prev;
            const bool grow = agree > M(0), shrink = agree < M(0);
            M nsize = grow ? size * c_plus : (shrink ? size * c_minus : size);
            nsize = mt_min(mt_max(nsize, c_lo), c_hi);
            size = nsize;
            if (shrink) gg = M(0);
            x = x + (mt_sign(gg) * M(-1)) * size;
            prev = gg;
        });
    }
}

template <typename T>
__global__ void rprop_advance(MT_ADV_ARGS) {
    if (mt_skip(found_inf)) return;
    MT_FOR_ADV(r) {
        float* st = dstate + rows[r] * ds_stride;
        st[0] = (float)((double)st[0] + 1.0);
    }
}
