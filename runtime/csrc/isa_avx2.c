/* The kernels compiled for AVX2 + FMA: VW=8 floats per vector. */
#include "kl.h"
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define VW 8
#define NV 2
#define MR 6
#define SUFFIX avx2
#include "kernels.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const kl_isa kl_isa_avx2 = {0};  /* not an x86 build: never selected */
#endif
