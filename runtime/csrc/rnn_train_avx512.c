/* Training's recurrences (rnn_train.h) compiled for AVX-512: VW=16 floats per vector. */
#include "kl.h"
#include "rnn_train.h"
#ifdef KL_X86_TARGETS
#define KL_TARGET_AVX512
#include "target_begin.h"
#define RT_NV 4
#define SUFFIX rt_avx512
#include "rnn_train.h"
#include "target_end.h"
const kl_rnn_train_isa kl_rnn_train_avx512 = {.name = "avx512", .forward = rt_forward_rt_avx512,
                                              .backward = rt_backward_rt_avx512};
#else
const kl_rnn_train_isa kl_rnn_train_avx512 = {0};  /* not an x86 build: never selected */
#endif
