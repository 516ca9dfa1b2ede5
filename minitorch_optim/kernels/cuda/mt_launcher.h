// The hand-written part of the CUDA fused kernels, written once: 16-bit storage types, NumPy's
// NaN-propagating maximum/minimum and sign, and the generic multi-tensor launcher every generated kernel
// (kernels/codegen.py) instantiates with its element operation.
//
// Written in the subset of CUDA C++ that NVRTC compiles with no toolkit headers and that the host C++
// compiler also accepts behind tests/cuda_shim/cuda_shim.h, so the very same source is checked on the CPU.
// 16-bit parameters use our own storage types (bit-compatible with __half/__nv_bfloat16, converted with
// round-to-nearest-even); their math runs in float.
//
// Launch layout: PP[t], GP[t] are the addresses of tensor t's parameter and gradient (they stay where the
// user put them); B0..B5 the flat state buffers (tensor t at OFF[t]), null when absent; CH[4c..4c+3] =
// (tensor, start, stop, scalar row) of chunk c: blocks stride over chunks, a block's threads over the
// chunk's elements; SS[row * nslots + k] is scalar slot k of that row (double, rounded to the math type).
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
    if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)(((x >> 16) & 0x8000u) | 0x7fc0u);  // as ml_dtypes
    return (unsigned short)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

template <typename T> struct mt_compute { typedef T type; };
template <> struct mt_compute<half_t> { typedef float type; };
template <> struct mt_compute<bf16_t> { typedef float type; };

MT_HD float mt_load(const float* a, long long i) { return a[i]; }
MT_HD double mt_load(const double* a, long long i) { return a[i]; }
MT_HD float mt_load(const half_t* a, long long i) { return mt_h2f(a[i].x); }
MT_HD float mt_load(const bf16_t* a, long long i) { return mt_b2f(a[i].x); }
MT_HD void mt_store(float* a, long long i, float v) { a[i] = v; }
MT_HD void mt_store(double* a, long long i, double v) { a[i] = v; }
MT_HD void mt_store(half_t* a, long long i, float v) { a[i].x = mt_f2h(v); }
MT_HD void mt_store(bf16_t* a, long long i, float v) { a[i].x = mt_f2b(v); }

// NumPy semantics: maximum/minimum propagate NaN and give the second argument on ties; torch's sign:
// sign(+-0) = sign(NaN) = +0
template <typename M> MT_HD M mt_max(M a, M b) { return (a > b || a != a) ? a : b; }
template <typename M> MT_HD M mt_min(M a, M b) { return (a < b || a != a) ? a : b; }
template <typename M> MT_HD M mt_sign(M a) { return a > M(0) ? M(1) : (a < M(0) ? M(-1) : M(0)); }

#define MT_ELEMENT_ARGS T* P, T* G, T* const* B, long long base, long long i, const double* S

#define MT_KERNEL_ARGS(T) const unsigned long long* PP, const unsigned long long* GP, const long long* OFF, \
    const long long* CH, int nch, const double* SS, int nslots, T* B0, T* B1, T* B2, T* B3, T* B4, T* B5

template <typename T, typename Op>
__device__ __forceinline__ void mt_run(Op op, MT_KERNEL_ARGS(T)) {
    T* const B[6] = {B0, B1, B2, B3, B4, B5};
    for (long long c = blockIdx.x; c < nch; c += gridDim.x) {
        const long long t = CH[4 * c], a = CH[4 * c + 1], b = CH[4 * c + 2], r = CH[4 * c + 3];
        T* P = (T*)PP[t];
        T* G = (T*)GP[t];
        const double* S = SS + r * nslots;
        for (long long i = a + threadIdx.x; i < b; i += blockDim.x) op(P, G, B, OFF[t], i, S);
    }
}

#define MT_DEFINE_KERNEL(NAME, OP) \
    template <typename T> __global__ void NAME(MT_KERNEL_ARGS(T)) { \
        mt_run<T>(OP(), PP, GP, OFF, CH, nch, SS, nslots, B0, B1, B2, B3, B4, B5); }
