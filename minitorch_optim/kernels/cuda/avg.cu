// Averaging of a flat buffer for swa_utils (EMA / SWA), operation order of _core/swa_flat.py:
//   mode 0 lerp:   a = |w| < 0.5 ? a + (b - a) * w : b - (b - a) * (1 - w)   (w, 1 - w in the math type)
//   mode 1 blend:  a = a * decay + b * (1 - decay)
//   mode 2 divide: a = a + (b - a) / (n_averaged + 1)            (value = n_averaged + 1)
// Grid-stride loop over n elements; 16-bit types are computed in float.
#include "mt_launcher.h"

template <typename T>
__global__ void avg_update(T* a, const T* b, long long n, int mode, double value) {
    typedef typename mt_compute<T>::type M;
    const M w = (M)value, omw = M(1) - w, c_1mv = (M)(1.0 - value);
    const bool near_a = w < M(0.5) && w > M(-0.5);
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const M x = mt_load(a, i), y = mt_load(b, i);
        M r;
        if (mode == 0) { const M d = y - x; r = near_a ? d * w + x : y - d * omw; }
        else if (mode == 1) r = x * w + y * c_1mv;
        else r = (y - x) / w + x;
        mt_store(a, i, r);
    }
}
