/* Training's recurrences (rnn_train.h) for the baseline ISA of the build (SSE2 on x86-64, NEON on arm64). */
#include "rnn_train.h"
#define VW 4
#define RT_NV 2
#define SUFFIX rt_base
#include "rnn_train.h"
const kl_rnn_train_isa kl_rnn_train_base = {.name = "base", .forward = rt_forward_rt_base,
                                            .backward = rt_backward_rt_base};
