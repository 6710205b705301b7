/* Shared declarations of keraslite's native kernels: job descriptions, the per-ISA function table, the pool. */
#ifndef KL_H
#define KL_H
#include <stddef.h>
#include <stdint.h>

/* x86 with GCC or clang: the AVX2 and AVX-512 variants are compiled (target_begin.h), else only the baseline. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define KL_X86_TARGETS 1
#endif

/* Activation codes (keep in sync with runtime/_native.py ACT). */
enum { KL_LINEAR = 0, KL_RELU = 1, KL_RELU6 = 2, KL_TANH = 3, KL_SIGMOID = 4, KL_HARD_SIGMOID = 5,
       KL_HARD_SIGMOID_K2 = 6, KL_SWISH = 7, KL_HARD_SWISH = 8, KL_SOFTSIGN = 9, KL_ACT_COUNT };

/* A convolution (or a plain GEMM: 1x1 kernel, stride 1, no padding) over channels_last input, weights packed. */
typedef struct {
    const float *x;              /* input (n, h, w, c_total) */
    int64_t n, h, w, cin, cstride; /* cin channels per group; cstride = channels between pixels */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl, oh, ow;
    int64_t groups;
    const float *bp;             /* packed weights: groups x panels x K x NR */
    int64_t k, nout;             /* K = kh*kw*cin; nout = filters per group */
    float *y;                    /* output rows (n*oh*ow, ldy) */
    int64_t ldy;
    const float *bias;           /* groups*nout or NULL */
    const float *res;            /* residual rows (n*oh*ow, ldres) added before the activation, or NULL */
    int64_t ldres;
    int act;
    int accumulate;              /* 1: add to what y holds (the first K block too) */
    /* prologue on the input (a BatchNormalization and/or activation folded in): x -> pre_act(x*pre_scale+pre_shift),
     * per input channel (cstride entries, NULL = 1 / 0); padding stays zero. pre = 0: none. */
    const float *pre_scale, *pre_shift;
    int pre, pre_act;
    /* 1 (a plain GEMM only): x holds A transposed, (K, M) with row stride cstride, so A(m, k) = x[k*cstride + m]
     * (training's x.T @ dz without a transposed copy: each block of A is transposed into scratch as it is read) */
    int trans;
    /* A plain GEMM may take its weights unpacked: braw (K, nout) with strides bsk, bsn in floats (a transposed view
     * too); each task then packs the KC-row slab of a panel into its scratch right before multiplying it (bp unused).
     * Only when every panel is used by one task (one row block, groups == 1; conv_execute packs first otherwise). */
    const float *braw;
    int64_t bsk, bsn;
    /* when not NULL (conv_execute, groups == 1): the whole im2col matrix, (n*oh*ow, k) row-major, gathered once for
     * every task; A is read from it in place, in the same K blocks */
    const float *ag;             /* rows kl_ag_ld(g) floats apart */
} kl_conv;

/* Row stride of g's once-gathered im2col: whole 64-byte lines, >= k + 15, so no row's vector stores (up to VW - 1
 * floats past its end, VW <= 16) reach the next row, and tasks may gather neighbouring rows at once. */
static inline int64_t kl_ag_ld(const kl_conv *g) { return (g->k + 31) / 16 * 16; }

/* Rows [k0, k0+kc) x columns [col0, col0+ncols) of b (strides sk, sn in floats) as one packed panel slab in dst
 * (kc x nr, zero-padded from ncols to nr). module.c. */
void kl_pack_slab(const float *b, int64_t sk, int64_t sn, int64_t k0, int64_t kc, int64_t col0, int64_t ncols, int nr,
                  float *dst);

typedef struct {
    const float *x;              /* (n, h, w, c) */
    int64_t n, h, w, c, mult;
    const float *kernel;         /* (kh, kw, c*mult) */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl, oh, ow;
    const float *bias;           /* c*mult or NULL */
    float *y;                    /* (n, oh, ow, c*mult) */
    int act;
    const float *pre_scale, *pre_shift;  /* prologue as in kl_conv (c entries) */
    int pre, pre_act;
} kl_depthwise;

typedef struct {
    const float *x;              /* (n, h, w, c) */
    int64_t n, h, w, c, ph, pw, sh, sw, pt, pl, oh, ow;
    int avg;                     /* 0 max, 1 average */
    int pad_zeros;               /* 1: cells outside the input are zeros that take part (an absorbed ZeroPadding2D) */
    float *y;                    /* (n, oh, ow, c) */
} kl_pool;

/* One recurrent layer over all steps: xw (n, steps, G) already holds x @ kernel + input bias. */
typedef struct {
    int kind;                    /* 0 SimpleRNN, 1 LSTM, 2 GRU (reset_after), 3 GRU (reset before) */
    const float *xw;
    int64_t n, steps, units;
    const float *up;             /* packed recurrent kernel (units x G), or its z|r part for kind 3 */
    const float *up2;            /* kind 3: packed candidate part (units x units) */
    const float *rbias;          /* GRU recurrent bias (G) or NULL */
    float *h, *c, *seq;          /* state (n, units), cell (n, units) for LSTM, every step's h (n, steps, units) */
    int act, ract;
} kl_rnn;

/* The GEMM's K block (floats of A per row): a K block holds whole taps when a tap's channels fit, else a slice of
 * one tap's channels; the direct kernel sums in the same blocks (kl_kblock for both), so both round alike. */
#define KL_KC 256

/* Block b of g's K: taps [t0, t1) with every channel when a tap's channels fit in KL_KC, else channels [c0, c1) of
 * tap t0. Its K rows are [t0 * cin + c0, (t1 - 1) * cin + c1). */
static inline void kl_kblock(const kl_conv *g, int64_t b, int64_t *t0, int64_t *t1, int64_t *c0, int64_t *c1) {
    const int64_t c = g->cin, taps = g->kh * g->kw;
    if (c <= KL_KC) {
        int64_t per = KL_KC / c;
        *t0 = b * per; *t1 = *t0 + per < taps ? *t0 + per : taps; *c0 = 0; *c1 = c;
    } else {
        int64_t slices = (c + KL_KC - 1) / KL_KC;
        *t0 = b / slices; *t1 = *t0 + 1; *c0 = (b % slices) * KL_KC; *c1 = *c0 + KL_KC < c ? *c0 + KL_KC : c;
    }
}

static inline int64_t kl_kblocks(const kl_conv *g) {
    const int64_t c = g->cin, taps = g->kh * g->kw;
    return c <= KL_KC ? (taps + KL_KC / c - 1) / (KL_KC / c) : taps * ((c + KL_KC - 1) / KL_KC);
}

/* Whether g's A is its input as it lies (a 1x1, stride-1, unpadded convolution or a plain GEMM without prologue or
 * transposed A): read in place, no gather and no scratch for it. */
static inline int kl_is_direct(const kl_conv *g) {
    return !g->pre && !g->trans && g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0
           && g->oh == g->h && g->ow == g->w;
}

/* Panel chunks per row block when there are few row blocks (rowtasks) for the threads: a few tasks per thread. */
static inline int64_t kl_panel_chunks(int threads, int64_t rowtasks, int64_t panels) {
    if (threads <= 1 || rowtasks >= 4 * threads) return 1;
    int64_t np = (4 * threads + rowtasks - 1) / rowtasks;
    return np > panels ? panels : np;
}

/* A convolution read in place from its input, zero-padded first when it has padding or a prologue (direct.h):
 * xp is (n, hp, wp, g->cstride), koff[k] the floats from a window's first pixel to its element k (tap k / cin,
 * channel k % cin, as the weights' rows); kend[b] the end of K block b (nblocks of them). */
typedef struct {
    const kl_conv *g;
    const float *xp;
    int64_t hp, wp;
    const int64_t *koff, *kend;
    int64_t nblocks;
} kl_direct;

typedef struct {
    const char *name;
    int nr;                      /* packed panel width */
    int mr;                      /* rows per micro-tile */
    void (*conv_task)(const kl_conv *, int64_t task, int64_t ntasks_m, int64_t ntasks_p, float *scratch);
    int64_t (*conv_mblocks)(const kl_conv *, int threads);
    void (*conv_task_wide)(const kl_conv *, int64_t task, int64_t ntasks, float *scratch);
    int64_t scratch_floats;
    void (*direct_task)(const kl_direct *, int64_t task, int64_t ntasks_m, int64_t ntasks_p);
    void (*direct_pad)(const kl_conv *, float *xp, int64_t hp, int64_t wp);
    void (*depthwise_rows)(const kl_depthwise *, int64_t row0, int64_t row1);
    void (*rnn)(const kl_rnn *, float *scratch);
    void (*pool_rows)(const kl_pool *, int64_t row0, int64_t row1);
    void (*activate)(float *y, int64_t n, int act);
    void (*bias_act)(float *y, int64_t rows, int64_t f, const float *bias, int act);
    void (*affine)(const float *x, float *y, int64_t rows, int64_t c, const float *scale, const float *shift, int act);
    void (*softmax)(float *y, int64_t rows, int64_t n);
    /* kl_pack_slab at nr = this ISA's, for K rows contiguous and columns sn floats apart (a transposed view) */
    void (*pack_t)(const float *b, int64_t sn, int64_t k0, int64_t kc, int64_t col0, int64_t ncols, float *dst);
    /* rows [m0, m0+rows) of g's whole im2col matrix (every tap and channel of group 0) into dst, row stride
     * kl_ag_ld(g) */
    void (*gather_rows)(const kl_conv *g, int64_t m0, int64_t rows, float *dst);
    /* training's elementwise passes (update.h), vectorised for this ISA: the same numbers on every ISA (no
     * contraction; sqrt and division are correctly rounded in every width) */
    void (*adam)(const float *g, float *w, float *m, float *v, float *vhat, int64_t n, float alpha,
                 float one_minus_b1, float one_minus_b2, float eps);
    void (*act_grad)(const float *g, const float *y, float *out, int64_t n, int act);
} kl_isa;

extern const kl_isa kl_isa_avx512, kl_isa_avx2, kl_isa_base;

/* The direct convolution (direct.c): whether it beats the packed GEMM for g, and running it (0, or -2 without
 * memory for the padded input); kl_set_direct(0) sends every convolution to the GEMM (tests, benchmarks) and
 * returns the previous setting. */
int kl_direct_pays(const kl_conv *g);
int kl_set_direct(int on);
int kl_conv_direct(const kl_isa *isa, const kl_conv *g, int threads);

/* The least work a kernel call needs before it wakes the pool: multiply-adds of a convolution or GEMM, window reads
 * of a depthwise convolution or a pooling (~15 us on one core). Workers spin for a while after a job, so on a
 * machine with idle cores the next layer finds them awake; measured with each peer alone in its process, 2 cores,
 * load ~1 (bench/runtime_apart.py): 8M / 2M gave 1.62x onnxruntime's time over eight models, these 1.29x. On a
 * machine whose cores are all taken a woken worker may not run for a scheduler tick, and higher limits lose less
 * there (the caller never waits for a worker that has not started, see threads.c). */
#define KL_POOL_MIN_MACS (1 << 18)
#define KL_POOL_MIN_READS (1 << 15)

/* Floating-point contraction off in one function (KL_NO_CONTRACT_FN before it, KL_NO_CONTRACT_BEGIN first in its
 * body): where a reference rounds a product and a sum separately (TensorFlow's resize, Keras' optimizer updates),
 * an FMA would round once and the numbers would differ. */
#if defined(__clang__)
#define KL_NO_CONTRACT_BEGIN _Pragma("clang fp contract(off)")
#define KL_NO_CONTRACT_FN
#elif defined(__GNUC__)
#define KL_NO_CONTRACT_BEGIN
#define KL_NO_CONTRACT_FN __attribute__((optimize("fp-contract=off")))
#else
#define KL_NO_CONTRACT_BEGIN
#define KL_NO_CONTRACT_FN
#endif

/* Thread pool (threads.c). fn(ctx, task) runs for every task in [0, ntasks), on up to kl_threads() threads. */
typedef void (*kl_task_fn)(void *ctx, int64_t task, int tid);
void kl_parallel(kl_task_fn fn, void *ctx, int64_t ntasks, int max_threads);
int kl_threads(void);
void kl_set_threads(int n);

/* Scratch kept between calls by the calling thread (scratch.c): kl_scratch(slot, bytes) gives a buffer of at least
 * `bytes` (64-byte aligned, contents undefined; NULL without memory), kl_scratch_done(slot, p) hands it back (freed
 * unless kept). One buffer per slot at a time: a call uses each slot once. */
enum { KL_SCRATCH_TASKS, KL_SCRATCH_PACKED, KL_SCRATCH_IM2COL, KL_SCRATCH_PADDED, KL_SCRATCH_OFFSETS,
       KL_SCRATCH_RNN, KL_SCRATCH_SLOTS };
void *kl_scratch(int slot, size_t bytes);
void kl_scratch_done(int slot, void *p);

#endif
