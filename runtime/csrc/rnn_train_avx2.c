/* Training's recurrences (rnn_train.h) compiled for AVX2 + FMA: VW=8 floats per vector. */
#include "rnn_train.h"
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>  /* before the target pragma: its intrinsics carry their own targets */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define VW 8
#define RT_NV 2
#define KL_MASK8(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define KL_LOADN(p, n) ((vf)_mm256_maskload_ps((p), KL_MASK8(n)))
#define KL_STOREN(p, v, n) _mm256_maskstore_ps((p), KL_MASK8(n), (__m256)(v))
#define SUFFIX rt_avx2
#include "rnn_train.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
const kl_rnn_train_isa kl_rnn_train_avx2 = {.name = "avx2", .forward = rt_forward_rt_avx2,
                                            .backward = rt_backward_rt_avx2};
#else
const kl_rnn_train_isa kl_rnn_train_avx2 = {0};  /* not an x86 build: never selected */
#endif
