"""CUDA fused kernels (CuPy RawKernels compiled with NVRTC). ``launch`` holds the launcher and sources."""
