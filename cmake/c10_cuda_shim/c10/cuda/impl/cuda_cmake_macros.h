// What LibTorch's build generates for c10/cuda (C10_CUDA_BUILD_SHARED_LIBS), missing from Debian's CPU-only
// libtorch-dev headers: only the compile check of Lockstep's CUDA code (CMakeLists.txt, lockstep_cuda_compile_check)
// uses this folder. A LibTorch built with CUDA brings its own.
#pragma once
#define C10_CUDA_BUILD_SHARED_LIBS
