/* The kernels compiled for AVX2 + FMA: VW=8 floats per vector. */
#include "kl.h"
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>  /* before the target pragma: its intrinsics carry their own targets */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define VW 8
#define NV 2
#define MR 6
#define KL_MASK8(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define KL_LOADN(p, n) ((vf)_mm256_maskload_ps((p), KL_MASK8(n)))
#define KL_STOREN(p, v, n) _mm256_maskstore_ps((p), KL_MASK8(n), (__m256)(v))
#define SUFFIX avx2
#include "kernels.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const kl_isa kl_isa_avx2 = {0};  /* not an x86 build: never selected */
#endif
