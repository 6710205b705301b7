/* The kernels compiled for AVX-512 (F, DQ, BW, VL): VW=16 floats per vector. */
#include "kl.h"
#ifdef KL_X86_TARGETS
#define KL_TARGET_AVX512
#include "target_begin.h"
#ifndef NV
#define NV 2
#endif
#ifndef MR
#define MR 8
#endif
#define SUFFIX avx512
#include "kernels.h"
#include "target_end.h"
#else
const kl_isa kl_isa_avx512 = {0};  /* not an x86 build: never selected */
#endif
