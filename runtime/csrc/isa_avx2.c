/* The kernels compiled for AVX2 + FMA: VW=8 floats per vector. */
#include "kl.h"
#ifdef KL_X86_TARGETS
#define KL_TARGET_AVX2
#include "target_begin.h"
#define NV 2
#define MR 6
#define SUFFIX avx2
#include "kernels.h"
#include "target_end.h"
#else
const kl_isa kl_isa_avx2 = {0};  /* not an x86 build: never selected */
#endif
