/* Training's recurrences (rnn_train.h) compiled for AVX-512: VW=16 floats per vector. */
#include "rnn_train.h"
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>  /* before the target pragma: its intrinsics carry their own targets */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#endif
#define VW 16
#define RT_NV 4
#define KL_LOADN(p, n) ((vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define KL_STOREN(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#define SUFFIX rt_avx512
#include "rnn_train.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
const kl_rnn_train_isa kl_rnn_train_avx512 = {.name = "avx512", .forward = rt_forward_rt_avx512,
                                              .backward = rt_backward_rt_avx512};
#else
const kl_rnn_train_isa kl_rnn_train_avx512 = {0};  /* not an x86 build: never selected */
#endif
