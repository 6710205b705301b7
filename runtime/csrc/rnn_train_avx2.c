/* Training's recurrences (rnn_train.h) compiled for AVX2 + FMA: VW=8 floats per vector. */
#include "kl.h"
#include "rnn_train.h"
#ifdef KL_X86_TARGETS
#define KL_TARGET_AVX2
#include "target_begin.h"
#define RT_NV 2
#define SUFFIX rt_avx2
#include "rnn_train.h"
#include "target_end.h"
const kl_rnn_train_isa kl_rnn_train_avx2 = {.name = "avx2", .forward = rt_forward_rt_avx2,
                                            .backward = rt_backward_rt_avx2};
#else
const kl_rnn_train_isa kl_rnn_train_avx2 = {0};  /* not an x86 build: never selected */
#endif
