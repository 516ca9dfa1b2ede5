// Shared pieces of the fused optimizer kernels (included by every kernels/*.cu).
//
// Written in the subset of CUDA C++ that NVRTC compiles with no toolkit headers and that the host
// C++ compiler also accepts behind tests/cuda_shim/cuda_shim.h, so the very same source is checked on
// the CPU. 16-bit parameters use our own storage types (bit-compatible with __half/__nv_bfloat16,
// converted with round-to-nearest-even); their math runs in float.
//
// Launch layout shared by all optimizer kernels:
//   ent[3*r .. 3*r+2] = (offset, length, scalar row) for table row r: a chunk of one run of the flat
//   buffers; blocks stride over rows, the threads of a block over the row's elements (4 at a time with
//   vector loads when every pointer is aligned).
//   sc = [hyper-parameters (NHP doubles) | per-row scalars (NSC doubles per row)].
//   dstate (or null): per-parameter scalar state on the device (float32, ds_stride per parameter),
//   used when found_inf is given: the step-dependent scalars are then computed here from it, and the
//   *_advance kernel moves it on unless found_inf is set (no host synchronisation).
#pragma once

#define MT_HD __host__ __device__ __forceinline__

struct half_t { unsigned short x; };
struct bf16_t { unsigned short x; };

MT_HD unsigned int mt_fbits(float f) { union { float f; unsigned int u; } c; c.f = f; return c.u; }
MT_HD float mt_bitsf(unsigned int u) { union { float f; unsigned int u; } c; c.u = u; return c.f; }

MT_HD float mt_h2f(unsigned short h) {
    unsigned int sign = (unsigned int)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) { float v = (float)m * 5.9604644775390625e-08f; return sign ? -v : v; }   // m * 2^-24
    if (e == 31) return mt_bitsf(sign | 0x7f800000u | (m << 13));
    return mt_bitsf(sign | ((e + 112u) << 23) | (m << 13));
}

MT_HD unsigned short mt_f2h(float f) {
    unsigned int x = mt_fbits(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (unsigned short)(sign | 0x7e00u);              // NaN
    if (ax >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u);             // rounds to inf
    if (ax < 0x38800000u)                                                        // subnormal or zero
        return (unsigned short)(sign | (unsigned int)rintf(mt_bitsf(ax) * 16777216.0f));
    unsigned int h = (ax >> 13) - (112u << 10), rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;                      // nearest, ties to even
    return (unsigned short)(sign | h);
}

MT_HD float mt_b2f(unsigned short b) { return mt_bitsf((unsigned int)b << 16); }

MT_HD unsigned short mt_f2b(float f) {
    unsigned int x = mt_fbits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((x >> 16) | 0x40u);
    return (unsigned short)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// storage type -> math type, and the conversions
template <typename T> struct MathOf { typedef T type; };
template <> struct MathOf<half_t> { typedef float type; };
template <> struct MathOf<bf16_t> { typedef float type; };

template <typename T> MT_HD typename MathOf<T>::type to_math(T v) { return v; }
template <> MT_HD float to_math<half_t>(half_t v) { return mt_h2f(v.x); }
template <> MT_HD float to_math<bf16_t>(bf16_t v) { return mt_b2f(v.x); }
template <typename T> MT_HD T from_math(typename MathOf<T>::type v) { return v; }
template <> MT_HD half_t from_math<half_t>(float v) { half_t r; r.x = mt_f2h(v); return r; }
template <> MT_HD bf16_t from_math<bf16_t>(float v) { bf16_t r; r.x = mt_f2b(v); return r; }

// NumPy semantics: maximum/minimum propagate NaN, sign(0) = 0, sign(NaN) = NaN
template <typename M> MT_HD M mt_max(M a, M b) { return a != a ? a : (b != b ? b : (a < b ? b : a)); }
template <typename M> MT_HD M mt_min(M a, M b) { return a != a ? a : (b != b ? b : (b < a ? b : a)); }
// torch's sign: (a > 0) - (a < 0), so +-0 and NaN give +0
template <typename M> MT_HD M mt_sign(M a) { return a > M(0) ? M(1) : (a < M(0) ? M(-1) : M(0)); }
template <typename M> MT_HD M mt_abs(M a) { return a < M(0) ? -a : (a == M(0) ? M(0) : a); }
// torch's two-sided lerp as ArrayOps.lerp_ does it (weight and 1 - weight rounded from double)
template <typename M> MT_HD M mt_lerp(M x, M y, double w) {
    M d = y - x;
    return (w < 0.5 && w > -0.5) ? x + d * (M)w : y - d * (M)(1.0 - w);
}

// What Adam, NAdam and RAdam share (adam_moments in adam.py): gradient sign, L2 or decoupled weight
// decay, then both moments. Updates x (decoupled decay), m and v in place; returns the gradient used.
template <typename M>
MT_HD M mt_adam_moments(M& x, M gr, M& m, M& v, bool maximize, bool has_wd, bool decoupled, M c_decay, M c_wd,
                        double beta1, M c_b2, M c_1mb2) {
    M gg = maximize ? -gr : gr;
    if (has_wd) {
        if (decoupled) x = x * c_decay;
        else gg = gg + x * c_wd;
    }
    m = mt_lerp(m, gg, 1.0 - beta1);
    v = v * c_b2;
    v = v + (gg * c_1mb2) * gg;
    return gg;
}

template <typename T> struct alignas(4 * sizeof(T)) Vec4 { T v[4]; };

#define MT_STEP_ARGS(T) T* p, T* g, T* b0, T* b1, T* b2, const long long* ent, int n_ent, const double* sc, \
    int flags, const float* grad_scale, const float* found_inf, float* dstate, int ds_stride
#define MT_ADV_ARGS const long long* rows, int n_rows, const double* sc, const float* found_inf, float* dstate, \
    int ds_stride

enum { F_MAXIMIZE = 1, F_AMSGRAD = 2, F_DECOUPLED = 4, F_NESTEROV = 8, F_CENTERED = 16 };

__device__ __forceinline__ bool mt_skip(const float* found_inf) { return found_inf && *found_inf != 0.0f; }

// Run f(p, g, b0, b1, b2) (math-type references) over elements [off, off+len) with the block's threads.
// The gradient is divided by *grad_scale first and then written back unscaled (torch's fused semantics).
template <typename T, typename F>
__device__ __forceinline__ void mt_for_row(T* p, T* g, T* b0, T* b1, T* b2, long long off, long long len,
                                           const float* grad_scale, F f) {
    typedef typename MathOf<T>::type M;
    const bool scaled = grad_scale != 0;
    const M scale = scaled ? (M)*grad_scale : M(1);
    const unsigned long long mask = 4 * sizeof(T) - 1;
    unsigned long long bits = (unsigned long long)(p + off) | (unsigned long long)(g + off);
    if (b0) bits |= (unsigned long long)(b0 + off);
    if (b1) bits |= (unsigned long long)(b1 + off);
    if (b2) bits |= (unsigned long long)(b2 + off);
    const long long nvec = (bits & mask) == 0 ? len / 4 : 0;
    for (long long v = threadIdx.x; v < nvec; v += blockDim.x) {
        const long long i = off + 4 * v;
        Vec4<T> P = *(Vec4<T>*)(p + i), G = *(Vec4<T>*)(g + i), X0, X1, X2;
        if (b0) X0 = *(Vec4<T>*)(b0 + i);
        if (b1) X1 = *(Vec4<T>*)(b1 + i);
        if (b2) X2 = *(Vec4<T>*)(b2 + i);
        for (int k = 0; k < 4; ++k) {
            M pp = to_math(P.v[k]), gg = to_math(G.v[k]);
            M x0 = b0 ? to_math(X0.v[k]) : M(0), x1 = b1 ? to_math(X1.v[k]) : M(0);
            M x2 = b2 ? to_math(X2.v[k]) : M(0);
            if (scaled) { gg = gg / scale; G.v[k] = from_math<T>(gg); }
            f(pp, gg, x0, x1, x2);
            P.v[k] = from_math<T>(pp);
            if (b0) X0.v[k] = from_math<T>(x0);
            if (b1) X1.v[k] = from_math<T>(x1);
            if (b2) X2.v[k] = from_math<T>(x2);
        }
        *(Vec4<T>*)(p + i) = P;
        if (scaled) *(Vec4<T>*)(g + i) = G;
        if (b0) *(Vec4<T>*)(b0 + i) = X0;
        if (b1) *(Vec4<T>*)(b1 + i) = X1;
        if (b2) *(Vec4<T>*)(b2 + i) = X2;
    }
    for (long long j = 4 * nvec + threadIdx.x; j < len; j += blockDim.x) {
        const long long i = off + j;
        M pp = to_math(p[i]), gg = to_math(g[i]);
        M x0 = b0 ? to_math(b0[i]) : M(0), x1 = b1 ? to_math(b1[i]) : M(0), x2 = b2 ? to_math(b2[i]) : M(0);
        if (scaled) { gg = gg / scale; g[i] = from_math<T>(gg); }
        f(pp, gg, x0, x1, x2);
        p[i] = from_math<T>(pp);
        if (b0) b0[i] = from_math<T>(x0);
        if (b1) b1[i] = from_math<T>(x1);
        if (b2) b2[i] = from_math<T>(x2);
    }
}

// The rows of the launch table this block handles: for (r = first; r < n_ent; r += gridDim.x)
#define MT_FOR_ROWS(r) for (int r = blockIdx.x; r < n_ent; r += gridDim.x)
#define MT_FOR_ADV(r) for (long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x; r < n_rows; \
                           r += (long long)gridDim.x * blockDim.x)
