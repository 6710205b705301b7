/* The start of a per-ISA translation unit (isa_*.c, rnn_train_*.c): with KL_TARGET_AVX2 or KL_TARGET_AVX512
 * defined, every function after this compiles for that ISA, and VW (floats per vector) and the masked partial
 * load/store KL_LOADN / KL_STOREN are set. Only under KL_X86_TARGETS; target_end.h closes it. */
#include <immintrin.h>  /* before the target pragma: its intrinsics carry their own targets */
#if defined(KL_TARGET_AVX512)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#endif
#ifndef VW
#define VW 16
#endif
#define KL_LOADN(p, n) ((vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define KL_STOREN(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#elif defined(KL_TARGET_AVX2)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define VW 8
#define KL_MASK8(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define KL_LOADN(p, n) ((vf)_mm256_maskload_ps((p), KL_MASK8(n)))
#define KL_STOREN(p, v, n) _mm256_maskstore_ps((p), KL_MASK8(n), (__m256)(v))
#else
#error "define KL_TARGET_AVX2 or KL_TARGET_AVX512 before including target_begin.h"
#endif
