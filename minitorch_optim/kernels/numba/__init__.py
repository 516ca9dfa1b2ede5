"""CPU fused kernels (Numba). ``launch`` holds the launcher; Numba is imported only when a kernel runs."""
