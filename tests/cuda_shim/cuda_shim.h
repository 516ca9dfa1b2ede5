// Host emulation of the CUDA subset used by minitorch_optim/kernels/*.cu, so the same sources compile
// with g++ and run on the CPU: kernels become plain functions, and the EMU_* wrappers below run every
// (block, thread) of a launch one after another. The kernels use grid- and block-stride loops with no
// shared memory or barriers, so a serial run computes exactly what the parallel one does.
#pragma once
#include <math.h>
#include <stdint.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct mt_dim3 { unsigned int x, y, z; };
static mt_dim3 threadIdx, blockIdx, blockDim, gridDim;

#define EMU_RUN(grid, block, call)                                                  \
    do {                                                                            \
        gridDim.x = (grid); blockDim.x = (block); gridDim.y = gridDim.z = 1;        \
        blockDim.y = blockDim.z = 1;                                                \
        for (unsigned int b_ = 0; b_ < gridDim.x; ++b_)                             \
            for (unsigned int t_ = 0; t_ < blockDim.x; ++t_) {                      \
                blockIdx.x = b_; threadIdx.x = t_;                                  \
                call;                                                               \
            }                                                                       \
    } while (0)

// extern "C" entry points: emu_<kernel>_<suffix>(grid, block, kernel arguments...)
#define EMU_STEP(kernel, T, suffix)                                                                 \
    extern "C" void emu_##kernel##_##suffix(int grid, int block, MT_STEP_ARGS(T)) {                \
        EMU_RUN(grid, block, kernel<T>(p, g, b0, b1, b2, ent, n_ent, sc, flags, grad_scale,        \
                                       found_inf, dstate, ds_stride));                              \
    }
#define EMU_ADV(kernel, T, suffix)                                                                  \
    extern "C" void emu_##kernel##_##suffix(int grid, int block, MT_ADV_ARGS) {                    \
        EMU_RUN(grid, block, kernel<T>(rows, n_rows, sc, found_inf, dstate, ds_stride));           \
    }
#define EMU_AVG(T, suffix)                                                                          \
    extern "C" void emu_avg_update_##suffix(int grid, int block, T* a, const T* b, long long n,     \
                                            int mode, double value) {                               \
        EMU_RUN(grid, block, avg_update<T>(a, b, n, mode, value));                                  \
    }
