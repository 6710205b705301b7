/* The kernels compiled for AVX-512 (F, DQ, BW, VL): VW=16 floats per vector. */
#include "kl.h"
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#endif
#define VW 16
#define NV 2
#define MR 8
#define SUFFIX avx512
#include "kernels.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const kl_isa kl_isa_avx512 = {0};  /* not an x86 build: never selected */
#endif
