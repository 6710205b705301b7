/* The kernels compiled for the baseline ISA of the build (SSE2 on x86-64, NEON on arm64): VW=4 floats per vector. */
#include "kl.h"
#define VW 4
#define NV 2
#define MR 6
#define SUFFIX base
#include "kernels.h"
