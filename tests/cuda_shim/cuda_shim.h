// Host emulation of the CUDA subset used by minitorch_optim's CUDA kernels (kernels/cuda/mt_launcher.h,
// the generated kernels, avg.cu), so the same sources compile with g++ and run on the CPU: kernels become
// plain functions, and EMU_RUN runs every (block, thread) of a launch one after another. The kernels use
// grid- and block-stride loops with no shared memory or barriers, so a serial run computes exactly what
// the parallel one does.
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

// a void* that converts to whatever pointer type the kernel parameter has (the extern "C" wrappers take
// every pointer argument as void*)
struct EmuPtr {
    void* p;
    template <typename X> operator X*() const { return (X*)p; }
};
