/* The kernels, written once over a vector width: included by isa_*.c with VW (floats per vector), NV (vectors per
 * packed panel), MR (rows per micro-tile) and SUFFIX set, and compiled for that ISA.
 *
 * GEMM: C = A @ B with B packed once at load time into panels of NR = VW*NV columns (panel p holds B[:, p*NR:]
 * as K rows of NR floats, zero-filled past the last column), so no call re-packs the weights. A is read in place
 * when it is a plain matrix (Dense, 1x1 convolutions) or gathered block by block from the input image (other
 * convolutions: implicit im2col, padding written as zeros), never materialised whole; or, for kxk convolutions
 * whose weights fit in L2, not at all: the direct kernel reads each window in place (direct.h). The epilogue
 * (bias, a residual operand, the activation) runs on the accumulators before the single store.
 */
#include "vec.h"
#include "gemm.h"
#include "direct.h"
#include "depthwise.h"
#include "pool.h"
#include "rnn.h"
#include "update.h"

const kl_isa F(kl_isa) = {
    .name = KL_STR(SUFFIX), .nr = NR, .mr = MR, .conv_task = F(conv_task), .conv_mblocks = F(conv_mblocks),
    .conv_task_wide = F(conv_task_wide),
    .scratch_floats = SCRATCH, .direct_task = F(direct_task), .direct_pad = F(direct_pad),
    .depthwise_rows = F(depthwise_rows), .rnn = F(rnn), .pool_rows = F(pool_rows), .activate = F(activate),
    .bias_act = F(bias_act), .affine = F(affine), .softmax = F(softmax),
    .pack_t = F(pack_t), .gather_rows = F(gather_rows), .adam = kl_adam, .act_grad = kl_act_grad,
};
