/* The kernels compiled for AVX-512 (F, DQ, BW, VL): VW=16 floats per vector. */
#include "kl.h"
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>  /* before the target pragma: its intrinsics carry their own targets */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#endif
#ifndef VW
#define VW 16
#endif
#ifndef NV
#define NV 2
#endif
#ifndef MR
#define MR 8
#endif
#define KL_LOADN(p, n) ((vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define KL_STOREN(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#define SUFFIX avx512
#include "kernels.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const kl_isa kl_isa_avx512 = {0};  /* not an x86 build: never selected */
#endif
