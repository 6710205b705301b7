/* keraslite.runtime._ckernels: the Python face of the C kernels (buffer protocol, no numpy headers needed).
 *
 * Every entry point checks that the arrays it was given are float32, C-contiguous and large enough for the
 * geometry it was told, so a wrong call raises ValueError instead of touching memory it does not own. The GIL is
 * released while a kernel runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "kl.h"
#include "resize.h"

static const kl_isa *isa = &kl_isa_base;

typedef struct {
    Py_buffer v;
    int held;
} arg_buf;

static void release(arg_buf *bufs, int n) {
    for (int i = 0; i < n; i++)
        if (bufs[i].held) PyBuffer_Release(&bufs[i].v);
}

/* "uint8 or float32" for the struct codes "Bf" (B, f and q are the ones the kernels take). */
static const char *format_names(const char *formats) {
    if (!strcmp(formats, "f")) return "float32";
    if (!strcmp(formats, "q")) return "int64";
    if (!strcmp(formats, "iq")) return "int32 or int64";
    if (!strcmp(formats, "Bf")) return "uint8 or float32";
    return formats;
}

/* A buffer's struct format without its byte-order prefix ("B" when it has none). */
static const char *format_of(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    return (*f == '<' || *f == '=' || *f == '@') ? f + 1 : f;
}

/* A C-contiguous buffer of one of the formats in `formats` (struct codes, e.g. "Bf"); its code goes to *code. */
static int get_typed(PyObject *o, arg_buf *b, const char *formats, int writable, const char *what, char *code) {
    b->held = 0;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, &b->v, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "_ckernels: %s must be a %sC-contiguous %s array", what,
                     writable ? "writable " : "", format_names(formats));
        return -1;
    }
    b->held = 1;
    const char *f = format_of(&b->v);
    char got = (f[0] && !f[1]) ? f[0] : '?';
    if (got == 'l' && b->v.itemsize == 4) got = 'i';  /* int32 where C's long has 32 bits (Windows) */
    else if (got == 'l' || got == 'q') got = b->v.itemsize == 8 ? 'q' : '?';
    if (!strchr(formats, got) || got == '?') {
        PyErr_Format(PyExc_ValueError, "_ckernels: %s must be %s, got format %s", what, format_names(formats),
                     b->v.format);
        return -1;
    }
    *code = got;
    return 0;
}

/* A float32 C-contiguous buffer from o (None allowed when optional: then b->held stays 0). */
static int get_f32(PyObject *o, arg_buf *b, int writable, int optional, const char *what) {
    b->held = 0;
    if (o == Py_None && optional) return 0;
    char code;
    return get_typed(o, b, "f", writable, what, &code);
}

static int64_t nfloats(const arg_buf *b) { return b->held ? (int64_t)(b->v.len / 4) : 0; }

static int get_ints(PyObject *const *args, Py_ssize_t first, Py_ssize_t count, int64_t *out) {
    for (Py_ssize_t i = 0; i < count; i++) {
        long long v = PyLong_AsLongLong(args[first + i]);
        if (v == -1 && PyErr_Occurred()) return -1;
        out[i] = (int64_t)v;
    }
    return 0;
}

static int fail(const char *msg) {
    PyErr_SetString(PyExc_ValueError, msg);
    return -1;
}

/* A float32 buffer with any strides (a transposed or flipped view, read in place) and ndim in [min_ndim, max_ndim],
 * its strides whole floats; otherwise -1 with `message` raised (nothing held). */
static int get_strided_f32(PyObject *o, Py_buffer *v, int min_ndim, int max_ndim, const char *message) {
    if (PyObject_GetBuffer(o, v, PyBUF_STRIDES | PyBUF_FORMAT) < 0) return -1;
    int ok = !strcmp(format_of(v), "f") && v->itemsize == 4 && v->ndim >= min_ndim && v->ndim <= max_ndim;
    for (int d = 0; ok && d < v->ndim; d++) ok = v->strides[d] % 4 == 0;
    if (!ok) {
        PyBuffer_Release(v);
        return fail(message);
    }
    return 0;
}

/* ---- rows over the pool ---------------------------------------------------------------------------------- */

/* fn(ctx, r0, r1) over rows [0, rows) on up to `threads` threads: ~4 contiguous spans a thread (the pool gives each
 * thread its own run of them), one span on one thread. Depthwise, pooling, concat and the im2col gather use it. */
typedef void (*rows_fn)(const void *ctx, int64_t r0, int64_t r1);
typedef struct {
    rows_fn fn;
    const void *ctx;
    int64_t rows, per;
} rows_job;

static void rows_run(void *ctx, int64_t task, int tid) {
    (void)tid;
    const rows_job *j = (const rows_job *)ctx;
    const int64_t r0 = task * j->per, r1 = r0 + j->per < j->rows ? r0 + j->per : j->rows;
    j->fn(j->ctx, r0, r1);
}

static void parallel_rows(rows_fn fn, const void *ctx, int64_t rows, int threads) {
    if (rows <= 0) return;
    int64_t per = threads > 1 ? (rows + 4 * threads - 1) / (4 * threads) : rows;
    rows_job job = {fn, ctx, rows, per};
    kl_parallel(rows_run, &job, (rows + per - 1) / per, threads);
}

/* ---- convolution / GEMM ---------------------------------------------------------------------------------- */

typedef struct {
    const kl_conv *g;
    int64_t nm, np;
    float *scratch;
    int64_t stride;  /* scratch floats per thread */
} conv_job;

static void conv_run(void *ctx, int64_t task, int tid) {
    conv_job *j = (conv_job *)ctx;
    float *scratch = j->scratch ? j->scratch + tid * j->stride : NULL;
    if (j->nm == 0) isa->conv_task_wide(j->g, task, j->np, scratch);  /* weights-outer order */
    else isa->conv_task(j->g, task, j->nm, j->np, scratch);
}

/* Weights too large for L2 over more than one row block, and an output small enough to stay in L2 while it
 * accumulates: read the weights once, K blocks outermost (conv_task_wide). Measured on AVX-512 (2 MiB L2), and
 * only on one thread: split into panel chunks over 2 threads (each chunk gathering every window again) it was
 * 6-42% slower than the row blocks in one process, variants alternating (VGG19's 32x32x512 at batch 1 1.15x,
 * 8x12x12x512 1.17x, 8x7x7x512 1.06x), while on one thread it gains 0-2.5%. */
#define KL_WIDE_WEIGHTS (1 << 20)
#define KL_WIDE_OUTPUT (3 << 20)
static int wide_enabled = 1;  /* _set_wide(False): never the weights-outer order (tests, A/B runs) */

static int pack_raw(kl_conv *g, int threads, float **owned);

#define KL_AG_FLOATS (2 << 20)   /* 8 MiB of im2col at most */
#define KL_AG_ONE_BLOCK 512       /* rows up to which a gathered im2col is one row block, the panels split alone */
static void gather_span(const void *ctx, int64_t r0, int64_t r1) {  /* ctx: the kl_conv, its ag being written */
    const kl_conv *g = (const kl_conv *)ctx;
    isa->gather_rows(g, r0, r1 - r0, (float *)g->ag + r0 * kl_ag_ld(g));
}

static int conv_execute(kl_conv *g) {
    int64_t flops = g->n * g->oh * g->ow * g->k * g->nout * g->groups;
    int threads = flops >= KL_POOL_MIN_MACS ? kl_threads() : 1;
    if (kl_direct_pays(g)) return kl_conv_direct(isa, g, threads);
    int64_t panels = (g->nout + isa->nr - 1) / isa->nr, nm = isa->conv_mblocks(g, threads);
    /* few row blocks: split the weight panels too (not for a transposed A, which each chunk would gather again,
     * when there are row blocks enough for every thread) */
    int64_t np = g->trans && nm >= threads ? 1 : kl_panel_chunks(threads, g->groups * nm, panels);
    int64_t m = g->n * g->oh * g->ow;
    int wide = wide_enabled && threads == 1 && g->groups == 1 && m > 128 && g->k * g->nout * 4 > KL_WIDE_WEIGHTS
               && m * g->nout * 4 <= KL_WIDE_OUTPUT;
    if (wide) np = 1;  /* one task: every K block of the weights read once, all rows passing over it */
    float *packed = NULL;  /* unpacked weights that several tasks would read: packed once, here */
    if (g->braw && (wide || nm > 1 || g->groups != 1) && pack_raw(g, threads, &packed)) return -2;
    /* Several panel chunks over the same rows, each gathering its windows again, and no more im2col than weights
     * (late layers at batch 1, weight-bound): the whole im2col gathered once over the pool, then the panels split
     * alone, each thread streaming only its share of the weights. Measured at 2 threads in one process, the two
     * builds alternating: ResNet50V2 b1 0.84-0.89x, Xception b1 0.94-0.97x, VGG16 b1 0.88-1.01x, the others 1.0x. */
    float *ag = NULL;
    if (threads > 1 && np > 1 && !kl_is_direct(g) && !g->trans && g->groups == 1 && !wide && m <= g->nout
        && m * g->k <= KL_AG_FLOATS) {
        ag = (float *)kl_scratch(KL_SCRATCH_IM2COL, (size_t)(m * kl_ag_ld(g)) * sizeof(float));
        if (ag) {  /* without the memory: the tasks gather as before */
            g->ag = ag;
            parallel_rows(gather_span, g, m, threads);
            if (m <= KL_AG_ONE_BLOCK) {
                nm = 1;
                np = kl_panel_chunks(threads, 1, panels);
            }
        }
    }
    const int direct = kl_is_direct(g) || g->ag;
    int64_t stride = isa->scratch_floats + (g->braw ? (int64_t)KL_KC * isa->nr : 0);
    float *scratch = NULL;
    if (!direct || g->braw) {
        scratch = (float *)kl_scratch(KL_SCRATCH_TASKS, (size_t)threads * (size_t)stride * sizeof(float));
        if (!scratch) {
            kl_scratch_done(KL_SCRATCH_PACKED, packed);
            if (ag) { g->ag = NULL; kl_scratch_done(KL_SCRATCH_IM2COL, ag); }
            return -2;
        }
    }
    conv_job job = {g, wide ? 0 : nm, np, scratch, stride};
    kl_parallel(conv_run, &job, wide ? np : g->groups * nm * np, threads);
    kl_scratch_done(KL_SCRATCH_TASKS, scratch);
    kl_scratch_done(KL_SCRATCH_PACKED, packed);
    if (ag) { g->ag = NULL; kl_scratch_done(KL_SCRATCH_IM2COL, ag); }
    return 0;
}

static int check_epilogue(kl_conv *g, arg_buf *bias, arg_buf *res, int64_t ytotal) {
    if (bias->held && nfloats(bias) < g->groups * g->nout) return fail("_ckernels: bias is shorter than the filters");
    if (res->held && nfloats(res) != ytotal) return fail("_ckernels: residual must have the output's shape");
    if (g->act < 0 || g->act >= KL_ACT_COUNT) return fail("_ckernels: unknown activation code");
    g->bias = bias->held ? (const float *)bias->v.buf : NULL;
    g->res = res->held ? (const float *)res->v.buf : NULL;
    g->ldres = g->ldy;
    return 0;
}

static PyObject *run_conv(kl_conv *g, arg_buf *bufs, int nbufs) {
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = conv_execute(g);
    Py_END_ALLOW_THREADS
    release(bufs, nbufs);
    if (rc == -2) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* g as a plain GEMM: y (rows, nout) = act(A @ W) with A (rows, k) at x, or with trans its transpose (k, rows). */
static void plain_gemm(kl_conv *g, const float *x, int64_t rows, int64_t k, int trans, float *y, int64_t nout,
                       int act) {
    g->x = x; g->n = rows; g->h = g->w = 1; g->cin = k; g->cstride = trans ? rows : k;
    g->trans = trans != 0;
    g->kh = g->kw = g->sh = g->sw = g->dh = g->dw = 1; g->oh = g->ow = 1; g->groups = 1;
    g->k = k; g->nout = nout; g->y = y; g->ldy = nout; g->act = act;
}

/* gemm(a, packed, y, bias, res, act[, trans]): y (rows, N) = act(a (rows, K) @ W + bias + res); with trans true,
 * a is 2-D (K, rows) and the product is a.T @ W. */
static PyObject *py_gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6 && nargs != 7)
        return PyErr_Format(PyExc_TypeError, "gemm() takes 6 or 7 arguments (%zd given)", nargs);
    arg_buf b[5];
    memset(b, 0, sizeof b);
    kl_conv g = {0};
    int64_t act, trans = 0;
    if (get_f32(args[0], &b[0], 0, 0, "a") || get_f32(args[1], &b[1], 0, 0, "packed weights")
        || get_f32(args[2], &b[2], 1, 0, "y") || get_f32(args[3], &b[3], 0, 1, "bias")
        || get_f32(args[4], &b[4], 0, 1, "residual") || get_ints(args, 5, 1, &act)
        || (nargs == 7 && get_ints(args, 6, 1, &trans)))
        goto error;
    if (b[0].v.ndim < 1 || b[2].v.ndim < 1) { fail("_ckernels: a and y need at least one axis"); goto error; }
    if (trans && b[0].v.ndim != 2) { fail("_ckernels: a transposed gemm needs a 2-D a"); goto error; }
    int64_t k = trans ? b[0].v.shape[0] : b[0].v.shape[b[0].v.ndim - 1], nout = b[2].v.shape[b[2].v.ndim - 1];
    int64_t rows = k ? nfloats(&b[0]) / k : 0;
    if (k < 1 || nout < 1 || rows * nout != nfloats(&b[2])) {
        fail("_ckernels: a and y have different row counts");
        goto error;
    }
    plain_gemm(&g, (const float *)b[0].v.buf, rows, k, (int)trans, (float *)b[2].v.buf, nout, (int)act);
    g.bp = (const float *)b[1].v.buf;
    if (nfloats(&b[1]) < (nout + isa->nr - 1) / isa->nr * k * isa->nr) {
        fail("_ckernels: packed weights too small");
        goto error;
    }
    if (check_epilogue(&g, &b[3], &b[4], rows * nout)) goto error;
    return run_conv(&g, b, 5);
error:
    release(b, 5);
    return NULL;
}

/* conv(x, packed, y, bias, res, act, kh, kw, sh, sw, dh, dw, pt, pl, groups, pre_scale, pre_shift, pre_act):
 * x (n, h, w, c), y (n, oh, ow, f); pre_*: the input prologue (None, None, -1 for none). */
static PyObject *py_conv(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 18) return PyErr_Format(PyExc_TypeError, "conv() takes 18 arguments (%zd given)", nargs);
    arg_buf b[7];
    memset(b, 0, sizeof b);
    kl_conv g = {0};
    int64_t p[10], pre_act;
    if (get_f32(args[0], &b[0], 0, 0, "x") || get_f32(args[1], &b[1], 0, 0, "packed weights")
        || get_f32(args[2], &b[2], 1, 0, "y") || get_f32(args[3], &b[3], 0, 1, "bias")
        || get_f32(args[4], &b[4], 0, 1, "residual") || get_ints(args, 5, 10, p)
        || get_f32(args[15], &b[5], 0, 1, "prologue scale") || get_f32(args[16], &b[6], 0, 1, "prologue shift")
        || get_ints(args, 17, 1, &pre_act))
        goto error;
    if (b[0].v.ndim != 4 || b[2].v.ndim != 4) { fail("_ckernels: conv needs 4-D x and y"); goto error; }
    const Py_ssize_t *xs = b[0].v.shape, *ys = b[2].v.shape;
    int64_t groups = p[9];
    if (groups < 1 || xs[3] % groups || ys[3] % groups || xs[0] != ys[0]) {
        fail("_ckernels: bad conv shapes");
        goto error;
    }
    g.x = (const float *)b[0].v.buf; g.n = xs[0]; g.h = xs[1]; g.w = xs[2]; g.cstride = xs[3];
    g.cin = xs[3] / groups; g.groups = groups;
    g.kh = p[1]; g.kw = p[2]; g.sh = p[3]; g.sw = p[4]; g.dh = p[5]; g.dw = p[6]; g.pt = p[7]; g.pl = p[8];
    g.act = (int)p[0];
    if (g.kh < 1 || g.kw < 1 || g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || g.pt < 0 || g.pl < 0) {
        fail("_ckernels: bad conv geometry");
        goto error;
    }
    g.oh = ys[1]; g.ow = ys[2]; g.nout = ys[3] / groups; g.ldy = ys[3];
    g.k = g.kh * g.kw * g.cin;
    g.y = (float *)b[2].v.buf;
    g.bp = (const float *)b[1].v.buf;
    if (g.k < 1 || g.nout < 1) { fail("_ckernels: empty conv"); goto error; }
    if (nfloats(&b[1]) < groups * ((g.nout + isa->nr - 1) / isa->nr) * g.k * isa->nr) {
        fail("_ckernels: packed weights too small");
        goto error;
    }
    if (check_epilogue(&g, &b[3], &b[4], nfloats(&b[2]))) goto error;
    if (pre_act >= KL_ACT_COUNT || (b[5].held && nfloats(&b[5]) != g.cstride)
        || (b[6].held && nfloats(&b[6]) != g.cstride)) {
        fail("_ckernels: prologue scale/shift must have one entry per input channel");
        goto error;
    }
    g.pre = pre_act >= 0;
    g.pre_act = pre_act >= 0 ? (int)pre_act : KL_LINEAR;
    g.pre_scale = g.pre && b[5].held ? (const float *)b[5].v.buf : NULL;
    g.pre_shift = g.pre && b[6].held ? (const float *)b[6].v.buf : NULL;
    if (g.n * g.oh * g.ow == 0) { release(b, 7); Py_RETURN_NONE; }
    return run_conv(&g, b, 7);
error:
    release(b, 7);
    return NULL;
}

/* ---- depthwise ------------------------------------------------------------------------------------------- */

static void depthwise_span(const void *ctx, int64_t r0, int64_t r1) {
    isa->depthwise_rows((const kl_depthwise *)ctx, r0, r1);
}

/* depthwise(x, kernel, y, bias, act, sh, sw, dh, dw, pt, pl, pre_scale, pre_shift, pre_act): kernel (kh, kw,
 * c*mult), y (n, oh, ow, c*mult); pre_*: the input prologue as for conv(). */
static PyObject *py_depthwise(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 14) return PyErr_Format(PyExc_TypeError, "depthwise() takes 14 arguments (%zd given)", nargs);
    arg_buf b[6];
    memset(b, 0, sizeof b);
    kl_depthwise d = {0};
    int64_t p[7], pre_act;
    if (get_f32(args[0], &b[0], 0, 0, "x") || get_f32(args[1], &b[1], 0, 0, "kernel")
        || get_f32(args[2], &b[2], 1, 0, "y") || get_f32(args[3], &b[3], 0, 1, "bias") || get_ints(args, 4, 7, p)
        || get_f32(args[11], &b[4], 0, 1, "prologue scale") || get_f32(args[12], &b[5], 0, 1, "prologue shift")
        || get_ints(args, 13, 1, &pre_act))
        goto error;
    if (b[0].v.ndim != 4 || b[1].v.ndim != 3 || b[2].v.ndim != 4) { fail("_ckernels: depthwise shapes"); goto error; }
    const Py_ssize_t *xs = b[0].v.shape, *ks = b[1].v.shape, *ys = b[2].v.shape;
    if (xs[3] < 1 || ks[2] % xs[3] || ys[3] != ks[2] || ys[0] != xs[0]) {
        fail("_ckernels: depthwise channels");
        goto error;
    }
    d.x = (const float *)b[0].v.buf; d.n = xs[0]; d.h = xs[1]; d.w = xs[2]; d.c = xs[3]; d.mult = ks[2] / xs[3];
    d.kernel = (const float *)b[1].v.buf; d.kh = ks[0]; d.kw = ks[1];
    d.act = (int)p[0]; d.sh = p[1]; d.sw = p[2]; d.dh = p[3]; d.dw = p[4]; d.pt = p[5]; d.pl = p[6];
    d.oh = ys[1]; d.ow = ys[2]; d.y = (float *)b[2].v.buf;
    if (d.sh < 1 || d.sw < 1 || d.dh < 1 || d.dw < 1 || d.pt < 0 || d.pl < 0 || d.act < 0 || d.act >= KL_ACT_COUNT) {
        fail("_ckernels: bad depthwise geometry");
        goto error;
    }
    if (b[3].held && nfloats(&b[3]) < ks[2]) { fail("_ckernels: depthwise bias too short"); goto error; }
    d.bias = b[3].held ? (const float *)b[3].v.buf : NULL;
    if (pre_act >= KL_ACT_COUNT || (b[4].held && nfloats(&b[4]) != d.c) || (b[5].held && nfloats(&b[5]) != d.c)) {
        fail("_ckernels: prologue scale/shift must have one entry per input channel");
        goto error;
    }
    d.pre = pre_act >= 0;
    d.pre_act = pre_act >= 0 ? (int)pre_act : KL_LINEAR;
    d.pre_scale = d.pre && b[4].held ? (const float *)b[4].v.buf : NULL;
    d.pre_shift = d.pre && b[5].held ? (const float *)b[5].v.buf : NULL;
    {
        int64_t rows = d.n * d.oh, work = rows * d.ow * ks[2] * d.kh * d.kw;
        int threads = work >= KL_POOL_MIN_READS ? kl_threads() : 1;
        Py_BEGIN_ALLOW_THREADS
        parallel_rows(depthwise_span, &d, rows, threads);
        Py_END_ALLOW_THREADS
    }
    release(b, 6);
    Py_RETURN_NONE;
error:
    release(b, 6);
    return NULL;
}

/* ---- pooling --------------------------------------------------------------------------------------------- */

static void pool_span(const void *ctx, int64_t r0, int64_t r1) { isa->pool_rows((const kl_pool *)ctx, r0, r1); }

/* pool(x, y, avg, ph, pw, sh, sw, pt, pl, pad_zeros): x (n, h, w, c), y (n, oh, ow, c). */
static PyObject *py_pool(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 10) return PyErr_Format(PyExc_TypeError, "pool() takes 10 arguments (%zd given)", nargs);
    arg_buf b[2];
    memset(b, 0, sizeof b);
    kl_pool p = {0};
    int64_t q[8];
    if (get_f32(args[0], &b[0], 0, 0, "x") || get_f32(args[1], &b[1], 1, 0, "y") || get_ints(args, 2, 8, q))
        goto error;
    if (b[0].v.ndim != 4 || b[1].v.ndim != 4) { fail("_ckernels: pool needs 4-D x and y"); goto error; }
    const Py_ssize_t *xs = b[0].v.shape, *ys = b[1].v.shape;
    p.x = (const float *)b[0].v.buf; p.n = xs[0]; p.h = xs[1]; p.w = xs[2]; p.c = xs[3];
    p.y = (float *)b[1].v.buf; p.oh = ys[1]; p.ow = ys[2];
    p.avg = (int)q[0]; p.ph = q[1]; p.pw = q[2]; p.sh = q[3]; p.sw = q[4]; p.pt = q[5]; p.pl = q[6];
    p.pad_zeros = (int)q[7];
    if (ys[0] != xs[0] || ys[3] != xs[3] || p.ph < 1 || p.pw < 1 || p.sh < 1 || p.sw < 1 || p.pt < 0 || p.pl < 0
        || p.pt >= p.ph || p.pl >= p.pw) {
        fail("_ckernels: bad pool geometry");
        goto error;
    }
    {
        int64_t rows = p.n * p.oh, work = rows * p.ow * p.c * p.ph * p.pw;
        int threads = work >= KL_POOL_MIN_READS ? kl_threads() : 1;
        Py_BEGIN_ALLOW_THREADS
        parallel_rows(pool_span, &p, rows, threads);
        Py_END_ALLOW_THREADS
    }
    release(b, 2);
    Py_RETURN_NONE;
error:
    release(b, 2);
    return NULL;
}

/* Training's max-pool gradient: each output's gradient goes to the first input of its window, in row-major window
 * order, equal to the window's max (the forward's winner; the first NaN when the max is NaN), added up where windows
 * overlap, in the order of the output pixels. Images are independent: split over the pool image by image, each
 * image's gradient written whole (zeros, then the adds). Channels in runs of POOL_GRAD_LANES, each with a flag of
 * whether its winner was found, so the inner loop is branch-free and vectorises. */
#define POOL_GRAD_LANES 64
typedef struct {
    const float *x, *y, *g;
    float *gx;
    int64_t h, w, c, oh, ow, ph, pw, sh, sw, pt, pl;
} pool_grad;

/* One window position's run of n channels: the gradient to the channels whose winner this is. */
static inline void max_pool_grad_run(const float *restrict xv, const float *restrict m, const float *restrict gv,
                                     float *restrict gxv, int32_t *restrict pending, int64_t n) {
    for (int64_t k = 0; k < n; k++) {
        const float xk = xv[k], mk = m[k], gk = gv[k];
        const int32_t hit = pending[k] & ((xk == mk) | ((mk != mk) & (xk != xk)));
        uint32_t bits;
        memcpy(&bits, &gk, 4);
        bits &= (uint32_t)-hit;  /* g where this is the winner, +0 elsewhere (no branch: the loop vectorises) */
        float add;
        memcpy(&add, &bits, 4);
        gxv[k] += add;
        pending[k] &= ~hit;
    }
}

static void max_pool_grad_span(const void *ctx, int64_t b0, int64_t b1) {
    const pool_grad *p = (const pool_grad *)ctx;
    const int64_t c = p->c, image = p->h * p->w * c, out_image = p->oh * p->ow * c;
    int32_t pending[POOL_GRAD_LANES];
    for (int64_t b = b0; b < b1; b++) {
        const float *x = p->x + b * image;
        float *gx = p->gx + b * image;
        memset(gx, 0, (size_t)image * sizeof(float));
        for (int64_t oy = 0; oy < p->oh; oy++) {
            const int64_t iy0 = oy * p->sh - p->pt;
            const int64_t i0 = iy0 < 0 ? -iy0 : 0, i1 = iy0 + p->ph > p->h ? p->h - iy0 : p->ph;
            for (int64_t ox = 0; ox < p->ow; ox++) {
                const int64_t ix0 = ox * p->sw - p->pl, o = b * out_image + (oy * p->ow + ox) * c;
                const int64_t j0 = ix0 < 0 ? -ix0 : 0, j1 = ix0 + p->pw > p->w ? p->w - ix0 : p->pw;
                for (int64_t ch = 0; ch < c; ch += POOL_GRAD_LANES) {
                    const int64_t n = c - ch < POOL_GRAD_LANES ? c - ch : POOL_GRAD_LANES;
                    const float *m = p->y + o + ch, *gv = p->g + o + ch;
                    for (int64_t k = 0; k < n; k++) pending[k] = 1;
                    for (int64_t i = i0; i < i1; i++)
                        for (int64_t j = j0; j < j1; j++) {
                            const int64_t at = ((iy0 + i) * p->w + ix0 + j) * c + ch;
                            max_pool_grad_run(x + at, m, gv, gx + at, pending, n);
                        }
                }
            }
        }
    }
}

/* max_pool_grad(x, y, g, gx, ph, pw, sh, sw, pt, pl): x and gx (n, h, w, c), the forward's output y and its
 * gradient g (n, oh, ow, c), the geometry as pool()'s. */
static PyObject *py_max_pool_grad(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 10) return PyErr_Format(PyExc_TypeError, "max_pool_grad() takes 10 arguments (%zd given)", nargs);
    arg_buf b[4];
    memset(b, 0, sizeof b);
    int64_t q[6];
    if (get_f32(args[0], &b[0], 0, 0, "x") || get_f32(args[1], &b[1], 0, 0, "y") || get_f32(args[2], &b[2], 0, 0, "g")
        || get_f32(args[3], &b[3], 1, 0, "gx") || get_ints(args, 4, 6, q))
        goto error;
    for (int i = 0; i < 4; i++)
        if (b[i].v.ndim != 4) { fail("_ckernels: max_pool_grad needs 4-D x, y, g and gx"); goto error; }
    {
        const Py_ssize_t *xs = b[0].v.shape, *ys = b[1].v.shape, *gs = b[2].v.shape, *gxs = b[3].v.shape;
        pool_grad p = {(const float *)b[0].v.buf, (const float *)b[1].v.buf, (const float *)b[2].v.buf,
                       (float *)b[3].v.buf, xs[1], xs[2], xs[3], ys[1], ys[2], q[0], q[1], q[2], q[3], q[4], q[5]};
        int same = 1;
        for (int d = 0; d < 4; d++) same &= gxs[d] == xs[d] && gs[d] == ys[d];
        if (!same || ys[0] != xs[0] || ys[3] != xs[3] || p.ph < 1 || p.pw < 1 || p.sh < 1 || p.sw < 1 || p.pt < 0
            || p.pl < 0 || p.pt >= p.ph || p.pl >= p.pw) {
            fail("_ckernels: bad max_pool_grad shapes or geometry");
            goto error;
        }
        int64_t work = xs[0] * p.oh * p.ow * p.c * p.ph * p.pw;
        int threads = work >= KL_POOL_MIN_READS ? kl_threads() : 1;
        Py_BEGIN_ALLOW_THREADS
        parallel_rows(max_pool_grad_span, &p, xs[0], threads);
        Py_END_ALLOW_THREADS
    }
    release(b, 4);
    Py_RETURN_NONE;
error:
    release(b, 4);
    return NULL;
}

/* ---- recurrences ----------------------------------------------------------------------------------------- */

/* A recurrence split by batch rows: part `task` of `parts` runs every step for its rows [bound[task],
 * bound[task + 1]), on its own scratch (its rows x per_row floats after 16 of slack per part before it). */
#define KL_RNN_PARTS 16
typedef struct {
    const kl_rnn *r;
    float *scratch;
    int64_t per_row;
    int64_t bound[KL_RNN_PARTS + 1];
} rnn_job;

static void rnn_run(void *ctx, int64_t task, int tid) {
    (void)tid;
    const rnn_job *j = (const rnn_job *)ctx;
    kl_rnn p = *j->r;
    const int64_t b0 = j->bound[task], u = p.units;
    p.xw += b0 * p.steps * (j->per_row - 2 * u);
    p.h += b0 * u;
    if (p.c) p.c += b0 * u;
    p.seq += b0 * p.steps * u;
    p.n = j->bound[task + 1] - b0;
    isa->rnn(&p, j->scratch + b0 * j->per_row + 16 * task);
}

/* Part bounds for n rows in `parts` (returns the parts used): every row must meet the tile shape it meets in one
 * pass over the whole batch, so that it gets the same numbers on any number of threads. The step's product tiles
 * each part's rows by MR from its start, and only a tile of one row sums differently (four partial sums, see
 * micro_row): a part may end in a one-row tile only where the whole batch does, at its last row. Even shares cut
 * at even rows first (8 rows: 4 | 4); when one breaks that rule, whole tiles (9 rows at MR = 8: 8 | 1). */
static int64_t rnn_bounds(int64_t n, int64_t parts, int64_t *bound) {
    const int64_t mr = isa->mr, tiles = (n + mr - 1) / mr;
    int ok = 1;
    bound[0] = 0;
    for (int64_t i = 1; i <= parts; i++) {
        bound[i] = i == parts ? n : (i * n / parts) & ~(int64_t)1;
        const int64_t size = bound[i] - bound[i - 1];
        if (size < 1 || (size % mr == 1) != (i == parts && n % mr == 1)) ok = 0;
    }
    if (ok) return parts;
    if (parts > tiles) parts = tiles;
    for (int64_t i = 1; i <= parts; i++) {
        const int64_t e = i * tiles / parts * mr;
        bound[i] = e < n ? e : n;
    }
    return parts;
}

/* rnn(kind, xw, up, up2, rbias, h, c, seq, act, ract): see kl_rnn; h, c and seq are written. */
static PyObject *py_rnn(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 10) return PyErr_Format(PyExc_TypeError, "rnn() takes 10 arguments (%zd given)", nargs);
    arg_buf b[7];
    memset(b, 0, sizeof b);
    kl_rnn r = {0};
    int64_t kind, acts[2];
    if (get_ints(args, 0, 1, &kind) || get_f32(args[1], &b[0], 0, 0, "xw") || get_f32(args[2], &b[1], 0, 0, "up")
        || get_f32(args[3], &b[2], 0, 1, "up2") || get_f32(args[4], &b[3], 0, 1, "rbias")
        || get_f32(args[5], &b[4], 1, 0, "h") || get_f32(args[6], &b[5], 1, 1, "c")
        || get_f32(args[7], &b[6], 1, 0, "seq") || get_ints(args, 8, 2, acts))
        goto error;
    if (kind < 0 || kind > 3 || b[0].v.ndim != 3 || b[4].v.ndim != 2) { fail("_ckernels: rnn shapes"); goto error; }
    r.kind = (int)kind; r.n = b[0].v.shape[0]; r.steps = b[0].v.shape[1]; r.units = b[4].v.shape[1];
    int64_t u = r.units, gates = kind == 1 ? 4 : (kind >= 2 ? 3 : 1), g = gates * u, nr = isa->nr;
    int64_t gz = kind == 3 ? 2 * u : g;  /* columns of the first recurrent product */
    if (u < 1 || b[0].v.shape[2] != g || b[4].v.shape[0] != r.n || nfloats(&b[6]) != r.n * r.steps * u
        || nfloats(&b[1]) < (gz + nr - 1) / nr * u * nr || (kind == 1 && nfloats(&b[5]) != r.n * u)
        || (kind == 3 && nfloats(&b[2]) < (u + nr - 1) / nr * u * nr) || (kind == 2 && nfloats(&b[3]) < g)
        || acts[0] < 0 || acts[0] >= KL_ACT_COUNT || acts[1] < 0 || acts[1] >= KL_ACT_COUNT) {
        fail("_ckernels: rnn sizes");
        goto error;
    }
    r.xw = (const float *)b[0].v.buf; r.up = (const float *)b[1].v.buf;
    r.up2 = b[2].held ? (const float *)b[2].v.buf : NULL; r.rbias = b[3].held ? (const float *)b[3].v.buf : NULL;
    r.h = (float *)b[4].v.buf; r.c = b[5].held ? (float *)b[5].v.buf : NULL; r.seq = (float *)b[6].v.buf;
    r.act = (int)acts[0]; r.ract = (int)acts[1];
    /* the batch rows are independent: split over the pool, each part runs every step for its rows */
    int64_t parts = r.n * r.steps * u * g >= KL_POOL_MIN_MACS ? r.n / 2 : 1;  /* 2 rows a part at least */
    if (parts > kl_threads()) parts = kl_threads();
    if (parts > KL_RNN_PARTS) parts = KL_RNN_PARTS;
    if (parts < 1) parts = 1;
    rnn_job job = {&r, NULL, g + 2 * u, {0}};
    parts = rnn_bounds(r.n, parts, job.bound);
    job.scratch = (float *)kl_scratch(KL_SCRATCH_RNN, (size_t)(r.n * job.per_row + 16 * parts) * sizeof(float));
    if (!job.scratch) { release(b, 7); return PyErr_NoMemory(); }
    Py_BEGIN_ALLOW_THREADS
    kl_parallel(rnn_run, &job, parts, (int)parts);
    Py_END_ALLOW_THREADS
    kl_scratch_done(KL_SCRATCH_RNN, job.scratch);
    release(b, 7);
    Py_RETURN_NONE;
error:
    release(b, 7);
    return NULL;
}

/* ---- elementwise ----------------------------------------------------------------------------------------- */

/* bias_act(y, bias, act): y (..., f) += bias (f, or None), then act, in place. */
static PyObject *py_bias_act(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "bias_act() takes 3 arguments (%zd given)", nargs);
    arg_buf b[2];
    memset(b, 0, sizeof b);
    int64_t act;
    if (get_f32(args[0], &b[0], 1, 0, "y") || get_f32(args[1], &b[1], 0, 1, "bias") || get_ints(args, 2, 1, &act))
        goto error;
    int64_t f = b[0].v.ndim ? b[0].v.shape[b[0].v.ndim - 1] : 1, total = nfloats(&b[0]);
    if (act < 0 || act >= KL_ACT_COUNT || (b[1].held && nfloats(&b[1]) != f) || f < 1) {
        fail("_ckernels: bias_act sizes");
        goto error;
    }
    const float *bias = b[1].held ? (const float *)b[1].v.buf : NULL;
    float *y = (float *)b[0].v.buf;
    Py_BEGIN_ALLOW_THREADS
    if (bias) isa->bias_act(y, total / f, f, bias, (int)act);
    else isa->activate(y, total, (int)act);
    Py_END_ALLOW_THREADS
    release(b, 2);
    Py_RETURN_NONE;
error:
    release(b, 2);
    return NULL;
}

/* concat(xs, y): y (..., sum of widths) = the float32 arrays of the tuple xs (..., width_i) side by side along the
 * last axis (Concatenate on channels_last, DenseNet's every block), rows split over the pool. */
#define KL_CONCAT_MAX 64
typedef struct {
    const float *src[KL_CONCAT_MAX];
    int64_t width[KL_CONCAT_MAX], off[KL_CONCAT_MAX];
    int n;
    int64_t rows, cout;
    float *y;
} concat_job;

static void concat_span(const void *ctx, int64_t r0, int64_t r1) {
    const concat_job *j = (const concat_job *)ctx;
    for (int64_t r = r0; r < r1; r++)
        for (int i = 0; i < j->n; i++)
            memcpy(j->y + r * j->cout + j->off[i], j->src[i] + r * j->width[i], (size_t)j->width[i] * 4);
}

static PyObject *py_concat(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyTuple_Check(args[0]))
        return PyErr_Format(PyExc_TypeError, "concat() takes a tuple of arrays and an output");
    const Py_ssize_t n = PyTuple_GET_SIZE(args[0]);
    if (n < 1 || n > KL_CONCAT_MAX) return PyErr_Format(PyExc_ValueError, "_ckernels: concat of %zd arrays", n);
    arg_buf b[KL_CONCAT_MAX + 1];
    memset(b, 0, sizeof b);
    PyObject *result = NULL;
    if (get_f32(args[1], &b[n], 1, 0, "y")) goto done;
    for (Py_ssize_t i = 0; i < n; i++)
        if (get_f32(PyTuple_GET_ITEM(args[0], i), &b[i], 0, 0, "concat input")) goto done;
    concat_job job;
    job.n = (int)n;
    job.y = (float *)b[n].v.buf;
    const int nd = b[n].v.ndim;
    job.cout = nd ? b[n].v.shape[nd - 1] : 1;
    job.rows = job.cout ? nfloats(&b[n]) / job.cout : 0;
    int64_t off = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const Py_buffer *v = &b[i].v;
        int same = v->ndim == nd;
        for (int d = 0; same && d < nd - 1; d++) same = v->shape[d] == b[n].v.shape[d];
        job.width[i] = v->ndim ? v->shape[v->ndim - 1] : 1;
        job.src[i] = (const float *)v->buf;
        job.off[i] = off;
        off += job.width[i];
        if (!same) { fail("_ckernels: concat inputs and output differ before the last axis"); goto done; }
    }
    if (off != job.cout) { fail("_ckernels: concat widths do not add up to the output's"); goto done; }
    const int64_t total = nfloats(&b[n]);
    int threads = total >= (1 << 16) ? kl_threads() : 1;
    if (job.cout) {
        Py_BEGIN_ALLOW_THREADS
        parallel_rows(concat_span, &job, job.rows, threads);
        Py_END_ALLOW_THREADS
    }
    result = Py_None;
    Py_INCREF(result);
done:
    release(b, (int)n + 1);
    return result;
}

/* softmax(y): y (..., n) = softmax over the last axis, in place. */
static PyObject *py_softmax(PyObject *self, PyObject *arg) {
    (void)self;
    arg_buf b;
    if (get_f32(arg, &b, 1, 0, "y")) return NULL;
    int64_t n = b.v.ndim ? b.v.shape[b.v.ndim - 1] : 1, total = nfloats(&b);
    if (n >= 1) {
        Py_BEGIN_ALLOW_THREADS
        isa->softmax((float *)b.v.buf, total / n, n);
        Py_END_ALLOW_THREADS
    }
    release(&b, 1);
    Py_RETURN_NONE;
}

/* affine(x, scale, shift, y, act): y (..., c) = act(x * scale + shift), per last-axis channel. */
static PyObject *py_affine(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 5) return PyErr_Format(PyExc_TypeError, "affine() takes 5 arguments (%zd given)", nargs);
    arg_buf b[4];
    memset(b, 0, sizeof b);
    int64_t act;
    if (get_f32(args[0], &b[0], 0, 0, "x") || get_f32(args[1], &b[1], 0, 1, "scale")
        || get_f32(args[2], &b[2], 0, 1, "shift") || get_f32(args[3], &b[3], 1, 0, "y") || get_ints(args, 4, 1, &act))
        goto error;
    int64_t c = b[0].v.ndim ? b[0].v.shape[b[0].v.ndim - 1] : 1, total = nfloats(&b[0]);
    if (act < 0 || act >= KL_ACT_COUNT || c < 1 || nfloats(&b[3]) != total || (b[1].held && nfloats(&b[1]) != c)
        || (b[2].held && nfloats(&b[2]) != c)) {
        fail("_ckernels: affine sizes");
        goto error;
    }
    {
        const float *x = (const float *)b[0].v.buf, *sc = b[1].held ? (const float *)b[1].v.buf : NULL;
        const float *sh = b[2].held ? (const float *)b[2].v.buf : NULL;
        float *y = (float *)b[3].v.buf;
        Py_BEGIN_ALLOW_THREADS
        isa->affine(x, y, total / c, c, sc, sh, (int)act);
        Py_END_ALLOW_THREADS
    }
    release(b, 4);
    Py_RETURN_NONE;
error:
    release(b, 4);
    return NULL;
}

/* ---- image resampling ------------------------------------------------------------------------------------ */

/* resize_bilinear(x, ylo, yhi, yl, xlo, xhi, xl, out, n, h, w, c, oh, ow): x (n, h, w, c) uint8 or float32 into
 * out (n, oh, ow, c) float32; the taps are int64 (lower, upper) and float32 (lerp) per output row / column. */
static PyObject *py_resize_bilinear(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 14) return PyErr_Format(PyExc_TypeError, "resize_bilinear() takes 14 arguments (%zd given)", nargs);
    arg_buf b[8];
    memset(b, 0, sizeof b);
    int64_t d[6];
    char xc, c1, c2, c3, c4, c5, c6, c7;
    if (get_typed(args[0], &b[0], "Bf", 0, "x", &xc) || get_typed(args[1], &b[1], "q", 0, "ylo", &c1)
        || get_typed(args[2], &b[2], "q", 0, "yhi", &c2) || get_typed(args[3], &b[3], "f", 0, "yl", &c3)
        || get_typed(args[4], &b[4], "q", 0, "xlo", &c4) || get_typed(args[5], &b[5], "q", 0, "xhi", &c5)
        || get_typed(args[6], &b[6], "f", 0, "xl", &c6) || get_typed(args[7], &b[7], "f", 1, "out", &c7)
        || get_ints(args, 8, 6, d))
        goto error;
    {
        const int64_t n = d[0], h = d[1], w = d[2], c = d[3], oh = d[4], ow = d[5];
        if (n < 0 || h < 1 || w < 1 || c < 1 || oh < 0 || ow < 0 || b[0].v.len != n * h * w * c * b[0].v.itemsize
            || b[7].v.len != n * oh * ow * c * 4 || b[1].v.len != oh * 8 || b[2].v.len != oh * 8
            || b[3].v.len != oh * 4 || b[4].v.len != ow * 8 || b[5].v.len != ow * 8 || b[6].v.len != ow * 4) {
            fail("_ckernels: resize_bilinear sizes");
            goto error;
        }
        const int64_t *ylo = b[1].v.buf, *yhi = b[2].v.buf, *xlo = b[4].v.buf, *xhi = b[5].v.buf;
        for (int64_t i = 0; i < oh; i++)
            if (ylo[i] < 0 || ylo[i] >= h || yhi[i] < 0 || yhi[i] >= h) {
                fail("_ckernels: resize_bilinear row tap out of range");
                goto error;
            }
        for (int64_t j = 0; j < ow; j++)
            if (xlo[j] < 0 || xlo[j] >= w || xhi[j] < 0 || xhi[j] >= w) {
                fail("_ckernels: resize_bilinear column tap out of range");
                goto error;
            }
        const float *yl = b[3].v.buf, *xl = b[6].v.buf;
        float *out = b[7].v.buf;
        Py_BEGIN_ALLOW_THREADS
        if (xc == 'B') kl_bilinear_u8(b[0].v.buf, n, h, w, c, ylo, yhi, yl, xlo, xhi, xl, out, oh, ow);
        else kl_bilinear_f32(b[0].v.buf, n, h, w, c, ylo, yhi, yl, xlo, xhi, xl, out, oh, ow);
        Py_END_ALLOW_THREADS
    }
    release(b, 8);
    Py_RETURN_NONE;
error:
    release(b, 8);
    return NULL;
}

/* ---- optimizer updates (keraslite.train) ----------------------------------------------------------------- */

static int get_floats(PyObject *const *args, Py_ssize_t first, Py_ssize_t count, float *out) {
    for (Py_ssize_t i = 0; i < count; i++) {
        double v = PyFloat_AsDouble(args[first + i]);
        if (v == -1.0 && PyErr_Occurred()) return -1;
        out[i] = (float)v;
    }
    return 0;
}

/* ---- training: the optimizer update, the activation gradient, weight packing --------------------------- */

/* Training's elementwise kernels (Adam, act_grad) run in chunks of ELEMENTWISE_CHUNK floats on the pool: their
 * arrays outgrow L2 for the large layers (Adam: 7 streams of 4 bytes a parameter), and each core brings its own
 * cache bandwidth (Adam on 784x512 on 2 cores: ~0.5 against ~0.8 ns a parameter). Elementwise, so the split
 * changes no number. */
#define ELEMENTWISE_CHUNK (1 << 15)

/* fn over `blocks` blocks of about ELEMENTWISE_CHUNK floats, on the pool from 4 blocks up (call with the GIL
 * released). */
static void run_blocks(kl_task_fn fn, void *ctx, int64_t blocks) {
    kl_parallel(fn, ctx, blocks, blocks >= 4 ? kl_threads() : 1);
}

/* fn over n floats in chunks of ELEMENTWISE_CHUNK (chunk_of). */
static void run_chunks(kl_task_fn fn, void *ctx, int64_t n) {
    run_blocks(fn, ctx, (n + ELEMENTWISE_CHUNK - 1) / ELEMENTWISE_CHUNK);
}

/* Chunk `task` of n floats: its first float, and its length in *len. */
static int64_t chunk_of(int64_t task, int64_t n, int64_t *len) {
    int64_t lo = task * ELEMENTWISE_CHUNK;
    *len = n - lo < ELEMENTWISE_CHUNK ? n - lo : ELEMENTWISE_CHUNK;
    return lo;
}

typedef struct {
    const float *g;
    float *w, *m, *v, *vhat;
    int64_t n;
    float k[4];
} adam_job;

static void adam_run(void *ctx, int64_t task, int tid) {
    (void)tid;
    adam_job *j = (adam_job *)ctx;
    int64_t len, lo = chunk_of(task, j->n, &len);
    isa->adam(j->g + lo, j->w + lo, j->m + lo, j->v + lo, j->vhat ? j->vhat + lo : NULL, len, j->k[0], j->k[1],
            j->k[2], j->k[3]);
}

/* adam(g, w, m, v, vhat_or_None, alpha, one_minus_b1, one_minus_b2, eps): in place, flat float32 arrays. */
static PyObject *py_adam(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 9) return PyErr_Format(PyExc_TypeError, "adam() takes 9 arguments (%zd given)", nargs);
    arg_buf b[5];
    memset(b, 0, sizeof b);
    float k[4];
    if (get_f32(args[0], &b[0], 0, 0, "g") || get_f32(args[1], &b[1], 1, 0, "w") || get_f32(args[2], &b[2], 1, 0, "m")
        || get_f32(args[3], &b[3], 1, 0, "v") || get_f32(args[4], &b[4], 1, 1, "vhat") || get_floats(args, 5, 4, k))
        goto error;
    {
        const int64_t n = nfloats(&b[1]);
        if (nfloats(&b[0]) != n || nfloats(&b[2]) != n || nfloats(&b[3]) != n || (b[4].held && nfloats(&b[4]) != n)) {
            fail("_ckernels: adam sizes");
            goto error;
        }
        const float *g = b[0].v.buf;
        float *w = b[1].v.buf, *m = b[2].v.buf, *v = b[3].v.buf, *vhat = b[4].held ? b[4].v.buf : NULL;
        adam_job job = {g, w, m, v, vhat, n, {k[0], k[1], k[2], k[3]}};
        Py_BEGIN_ALLOW_THREADS
        run_chunks(adam_run, &job, n);
        Py_END_ALLOW_THREADS
    }
    release(b, 5);
    Py_RETURN_NONE;
error:
    release(b, 5);
    return NULL;
}

/* pack(w, out, groups): w (..., groups*F), float32 with any strides (a transposed or flipped view is read in
 * place), its leading axes taken as the K rows, into the GEMM's panels in out (C-contiguous, groups x panels x K x
 * NR floats, panels = ceil(F / NR)): panel p of group g holds columns [g*F + p*NR, +NR) of every row, zero-padded to
 * NR. What runtime/native.py pack() describes; its numpy form is the reference. */

/* Rows [k0, k0+kc) x columns [col0, col0+ncols) of b into dst (kc x nr, zero-padded from ncols to nr): row r starts
 * rowoff[r] floats from b when rowoff is given, else r * sk; columns are sn floats apart. */
static void pack_rows(const float *b, const int64_t *rowoff, int64_t sk, int64_t sn, int64_t k0, int64_t kc,
                      int64_t col0, int64_t ncols, int nr, float *dst) {
#define ROW(r) (b + (rowoff ? rowoff[k0 + (r)] : (k0 + (r)) * sk) + col0 * sn)
    if (sn == 1) {  /* rows contiguous: one run of ncols floats a row */
        for (int64_t r = 0; r < kc; r++) {
            memcpy(dst + r * nr, ROW(r), (size_t)ncols * 4);
            if (ncols < nr) memset(dst + r * nr + ncols, 0, (size_t)(nr - ncols) * 4);
        }
        return;
    }
    if (!rowoff && sk == 1 && nr == isa->nr) {  /* a transposed view: tiles transposed in registers */
        isa->pack_t(b, sn, k0, kc, col0, ncols, dst);
        return;
    }
    /* other strided columns: 16 rows at a time, so the 16 floats read from each column are one or two cache lines
     * and the 16 panel rows written stay in L1 */
    for (int64_t r0 = 0; r0 < kc; r0 += 16) {
        int64_t r1 = r0 + 16 < kc ? r0 + 16 : kc;
        for (int64_t c = 0; c < ncols; c++)
            for (int64_t r = r0; r < r1; r++) dst[r * nr + c] = ROW(r)[c * sn];
        if (ncols < nr)
            for (int64_t r = r0; r < r1; r++) memset(dst + r * nr + ncols, 0, (size_t)(nr - ncols) * 4);
    }
#undef ROW
}

void kl_pack_slab(const float *b, int64_t sk, int64_t sn, int64_t k0, int64_t kc, int64_t col0, int64_t ncols, int nr,
                  float *dst) {
    pack_rows(b, NULL, sk, sn, k0, kc, col0, ncols, nr, dst);
}

typedef struct {
    const float *b;
    const int64_t *rowoff;  /* floats from b to each K row, or NULL: rows sk floats apart */
    int64_t sk, sn, k, f, panels;
    float *out;
} pack_job;

static void pack_run(void *ctx, int64_t task, int tid) {  /* task: panel p of group g */
    (void)tid;
    const pack_job *j = (const pack_job *)ctx;
    const int64_t nr = isa->nr, p = task % j->panels, col0 = (task / j->panels) * j->f + p * nr;
    const int64_t width = j->f - p * nr < nr ? j->f - p * nr : nr;
    pack_rows(j->b, j->rowoff, j->sk, j->sn, 0, j->k, col0, width, (int)nr, j->out + task * j->k * nr);
}

/* g's unpacked weights packed into a buffer of slot KL_SCRATCH_PACKED (*owned, the caller hands it back), g
 * switched to it; -1 without memory. */
static int pack_raw(kl_conv *g, int threads, float **owned) {
    const int64_t panels = (g->nout + isa->nr - 1) / isa->nr;
    float *out = (float *)kl_scratch(KL_SCRATCH_PACKED, (size_t)(panels * g->k * isa->nr) * sizeof(float));
    if (!out) return -1;
    pack_job job = {g->braw, NULL, g->bsk, g->bsn, g->k, g->nout, panels, out};
    kl_parallel(pack_run, &job, panels, threads);
    g->bp = out;
    g->braw = NULL;
    *owned = out;
    return 0;
}

/* matmul(a, b, y, bias, act, trans): y (rows, N) = act(a @ b + bias), b (K, N) float32 with any strides (a
 * transposed view is read in place) packed slab by slab as the tasks reach it; trans: a is (K, rows), a.T @ b.
 * Training's products, whose weights change every step (the runtime packs its weights once, for gemm()). */
static PyObject *py_matmul(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6) return PyErr_Format(PyExc_TypeError, "matmul() takes 6 arguments (%zd given)", nargs);
    arg_buf b[3];
    memset(b, 0, sizeof b);
    Py_buffer w;
    int64_t act, trans;
    if (get_strided_f32(args[1], &w, 2, 2, "_ckernels: matmul needs a 2-D float32 b")) return NULL;
    PyObject *result = NULL;
    if (get_f32(args[0], &b[0], 0, 0, "a") || get_f32(args[2], &b[1], 1, 0, "y")
        || get_f32(args[3], &b[2], 0, 1, "bias") || get_ints(args, 4, 1, &act) || get_ints(args, 5, 1, &trans))
        goto done;
    if (b[0].v.ndim != 2 || b[1].v.ndim != 2) { fail("_ckernels: matmul needs 2-D a and y"); goto done; }
    const int64_t k = w.shape[0], nout = w.shape[1];
    const int64_t rows = trans ? b[0].v.shape[1] : b[0].v.shape[0], ka = trans ? b[0].v.shape[0] : b[0].v.shape[1];
    if (ka != k || b[1].v.shape[0] != rows || b[1].v.shape[1] != nout || k < 1 || nout < 1) {
        fail("_ckernels: matmul shapes do not match");
        goto done;
    }
    kl_conv g = {0};
    plain_gemm(&g, (const float *)b[0].v.buf, rows, k, (int)trans, (float *)b[1].v.buf, nout, (int)act);
    g.braw = (const float *)w.buf; g.bsk = w.strides[0] / 4; g.bsn = w.strides[1] / 4;
    arg_buf none = {0};
    if (check_epilogue(&g, &b[2], &none, rows * nout)) goto done;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = conv_execute(&g);
    Py_END_ALLOW_THREADS
    if (rc == -2) { PyErr_NoMemory(); goto done; }
    result = Py_None;
    Py_INCREF(result);
done:
    release(b, 3);
    PyBuffer_Release(&w);
    return result;
}

static PyObject *py_pack(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "pack() takes 3 arguments (%zd given)", nargs);
    Py_buffer src;
    arg_buf out[1];
    memset(out, 0, sizeof out);
    int64_t groups;
    if (get_strided_f32(args[0], &src, 1, 64, "_ckernels: pack needs a float32 array with at least one axis"))
        return NULL;
    PyObject *result = NULL;
    int64_t *rowoff = NULL;
    if (get_f32(args[1], &out[0], 1, 0, "packed output") || get_ints(args, 2, 1, &groups)) goto done;
    const int nd = src.ndim;
    const int64_t n = src.shape[nd - 1], nr = isa->nr;
    int64_t k = 1;
    for (int d = 0; d < nd - 1; d++) k *= src.shape[d];
    if (groups < 1 || n % groups) { fail("_ckernels: pack: the last axis is not a whole number of groups"); goto done; }
    const int64_t fg = n / groups, panels = (fg + nr - 1) / nr;
    if (nfloats(&out[0]) != groups * panels * k * nr) {
        fail("_ckernels: pack: the output has the wrong size");
        goto done;
    }
    if (k == 0 || fg == 0) { result = Py_None; Py_INCREF(result); goto done; }
    const int64_t sk = nd == 2 ? src.strides[0] / 4 : 0;  /* 2-D: rows sk floats apart; else rowoff[] */
    if (nd != 2) rowoff = (int64_t *)malloc((size_t)k * sizeof(int64_t));
    if (nd != 2 && !rowoff) { PyErr_NoMemory(); goto done; }
    for (int64_t r = 0; rowoff && r < k; r++) {  /* the multi-index of row r over the leading axes, last fastest */
        int64_t rest = r, off = 0;
        for (int d = nd - 2; d >= 0; d--) {
            off += (rest % src.shape[d]) * (src.strides[d] / 4);
            rest /= src.shape[d];
        }
        rowoff[r] = off;
    }
    pack_job job = {(const float *)src.buf, rowoff, sk, src.strides[nd - 1] / 4, k, fg, panels, (float *)out[0].v.buf};
    int64_t tasks = groups * panels;
    Py_BEGIN_ALLOW_THREADS
    kl_parallel(pack_run, &job, tasks, tasks > 1 && k * n >= (1 << 16) ? kl_threads() : 1);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(rowoff);
    release(out, 1);
    PyBuffer_Release(&src);
    return result;
}

/* act_grad(g, y, out, act[, sums]): out = g * act'(y) read from the output y (update.h), in blocks on the pool;
 * with sums (float32, the last axis' length c), also the column sums of out seen as (n / c, c): a Dense layer's
 * bias gradient, taken while each block of rows is still in cache instead of in a second pass over out. The
 * blocks are whole rows of about ELEMENTWISE_CHUNK floats (without sums, rows of one float: run_chunks'
 * chunks); each sums its rows in order into its own partial sums and the blocks are added in order, so the
 * numbers depend on the block size only (fixed), never on the threads. */
typedef struct {
    const float *g, *y;
    float *out;
    int act;
    int64_t rows, cols, rows_per;  /* blocks of rows_per rows of cols floats */
    float *part;                   /* with sums: each block's partial sums, cols floats apart */
} act_grad_job;

static void act_grad_run(void *ctx, int64_t task, int tid) {
    (void)tid;
    const act_grad_job *j = (const act_grad_job *)ctx;
    const int64_t c = j->cols, r0 = task * j->rows_per, left = j->rows - r0;
    const int64_t rows = left < j->rows_per ? left : j->rows_per, lo = r0 * c;
    isa->act_grad(j->g + lo, j->y + lo, j->out + lo, rows * c, j->act);
    if (!j->part) return;
    float *part = j->part + task * c;
    memcpy(part, j->out + lo, (size_t)c * sizeof(float));
    for (int64_t r = 1; r < rows; r++) {
        const float *row = j->out + lo + r * c;
        for (int64_t i = 0; i < c; i++) part[i] += row[i];
    }
}

static PyObject *py_act_grad(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4 && nargs != 5)
        return PyErr_Format(PyExc_TypeError, "act_grad() takes 4 or 5 arguments (%zd given)", nargs);
    arg_buf b[4];
    memset(b, 0, sizeof b);
    int64_t act;
    if (get_f32(args[0], &b[0], 0, 0, "g") || get_f32(args[1], &b[1], 0, 0, "y") || get_f32(args[2], &b[2], 1, 0, "out")
        || get_ints(args, 3, 1, &act) || (nargs == 5 && get_f32(args[4], &b[3], 1, 1, "sums")))
        goto error;
    const int64_t n = nfloats(&b[0]), c = b[3].held ? nfloats(&b[3]) : 1;
    if (nfloats(&b[1]) != n || nfloats(&b[2]) != n) { fail("_ckernels: act_grad sizes"); goto error; }
    if (b[3].held && (c < 1 || n % c || b[2].v.ndim < 1 || b[2].v.shape[b[2].v.ndim - 1] != c)) {
        fail("_ckernels: act_grad sums must have out's last axis");
        goto error;
    }
    if (act != KL_RELU && act != KL_RELU6 && act != KL_TANH) {
        fail("_ckernels: act_grad takes relu, relu6 or tanh");
        goto error;
    }
    {
        const int64_t rows_per = ELEMENTWISE_CHUNK / c > 0 ? ELEMENTWISE_CHUNK / c : 1;
        const int64_t blocks = (n / c + rows_per - 1) / rows_per;
        act_grad_job job = {b[0].v.buf, b[1].v.buf, b[2].v.buf, (int)act, n / c, c, rows_per, NULL};
        float *sums = b[3].held ? (float *)b[3].v.buf : NULL;
        if (sums && blocks) {
            job.part = (float *)malloc((size_t)(blocks * c) * sizeof(float));
            if (!job.part) { PyErr_NoMemory(); goto error; }
        }
        Py_BEGIN_ALLOW_THREADS
        run_blocks(act_grad_run, &job, blocks);
        if (sums && !blocks) memset(sums, 0, (size_t)c * sizeof(float));  /* no rows */
        if (job.part) {
            memcpy(sums, job.part, (size_t)c * sizeof(float));
            for (int64_t t = 1; t < blocks; t++)
                for (int64_t i = 0; i < c; i++) sums[i] += job.part[t * c + i];
        }
        Py_END_ALLOW_THREADS
        free(job.part);
    }
    release(b, 4);
    Py_RETURN_NONE;
error:
    release(b, 4);
    return NULL;
}

#include "rnn_train_py.h"  /* training's recurrences */
#include "scatter.h"        /* training's lookup-table gradients */

/* ---- configuration --------------------------------------------------------------------------------------- */

static int cpu_has(const char *what) {
#ifdef KL_X86_TARGETS
    __builtin_cpu_init();
    if (!strcmp(what, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
               && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    if (!strcmp(what, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return !strcmp(what, "base");
}

/* _select_isa(name) -> bool: use the kernels for "avx512", "avx2" or "base" when this CPU and build have them (for
 * tests and benchmarks: plans built before keep the other variant's packing). */
static PyObject *py_select_isa(PyObject *self, PyObject *arg) {
    (void)self;
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name) return NULL;
    const kl_isa *want = !strcmp(name, "avx512") ? &kl_isa_avx512 : !strcmp(name, "avx2") ? &kl_isa_avx2
                         : !strcmp(name, "base") ? &kl_isa_base : NULL;
    if (!want || !want->name || !cpu_has(name)) Py_RETURN_FALSE;
    isa = want;
    Py_RETURN_TRUE;
}

/* ---- embedding lookups ------------------------------------------------------------------------------------ */

static inline int64_t index_at(const void *idx, char code, int64_t i) {
    return code == 'i' ? (int64_t)((const int32_t *)idx)[i] : ((const int64_t *)idx)[i];
}

/* embedding_mean(indices, table, out): out (n, d) = the mean over t of table[indices[n, t]], the output of an
 * Embedding followed by GlobalAveragePooling1D without the (n, t, d) sequence between them. Returns -1, or the
 * flat position of the first index outside [0, rows of table) (out is then incomplete). */
static PyObject *py_embedding_mean(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "embedding_mean() takes 3 arguments (%zd given)", nargs);
    arg_buf b[3];
    memset(b, 0, sizeof b);
    char code, c1, c2;
    if (get_typed(args[0], &b[0], "iq", 0, "indices", &code) || get_typed(args[1], &b[1], "f", 0, "table", &c1)
        || get_typed(args[2], &b[2], "f", 1, "out", &c2))
        goto error;
    if (b[0].v.ndim != 2 || b[1].v.ndim != 2) {
        fail("_ckernels: embedding_mean takes indices (n, t) and a table (rows, d)");
        goto error;
    }
    {
        int64_t n = b[0].v.shape[0], t = b[0].v.shape[1], rows = b[1].v.shape[0], d = b[1].v.shape[1];
        if (nfloats(&b[2]) != n * d) {
            fail("_ckernels: embedding_mean's out must hold (n, d) floats");
            goto error;
        }
        const void *idx = b[0].v.buf;
        const float *table = (const float *)b[1].v.buf;
        float *out = (float *)b[2].v.buf;
        int64_t bad = -1;
        Py_BEGIN_ALLOW_THREADS
        for (int64_t i = 0; i < n && bad < 0; i++) {
            float *restrict o = out + i * d;
            memset(o, 0, (size_t)d * sizeof(float));
            for (int64_t j = 0; j < t; j++) {
                int64_t k = index_at(idx, code, i * t + j);
                if (k < 0 || k >= rows) {
                    bad = i * t + j;
                    break;
                }
                const float *restrict r = table + k * d;
                for (int64_t c = 0; c < d; c++) o[c] += r[c];
            }
            for (int64_t c = 0; c < d; c++) o[c] /= (float)t;  /* a sum then a division, as reduce_mean; 0/0 = NaN */
        }
        Py_END_ALLOW_THREADS
        release(b, 3);
        return PyLong_FromLongLong(bad);
    }
error:
    release(b, 3);
    return NULL;
}

/* _set_direct(bool) -> bool: let the direct convolution take the layers it pays for (True) or send every one to the
 * GEMM (False, for tests and benchmarks); _set_wide(bool) -> bool alike for the weights-outer order. Both return the
 * previous setting. */
static PyObject *py_set_direct(PyObject *self, PyObject *arg) {
    (void)self;
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
    return PyBool_FromLong(kl_set_direct(on));
}

static PyObject *py_set_wide(PyObject *self, PyObject *arg) {
    (void)self;
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
    int previous = wide_enabled;
    wide_enabled = on;
    return PyBool_FromLong(previous);
}

static PyObject *py_isa(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    return PyUnicode_FromString(isa->name);
}

static PyObject *py_nr(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    return PyLong_FromLong(isa->nr);
}

static PyObject *py_set_threads(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    kl_set_threads((int)n);
    Py_RETURN_NONE;
}

static PyObject *py_threads(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    return PyLong_FromLong(kl_threads());
}

static PyMethodDef methods[] = {
    {"gemm", (PyCFunction)(void (*)(void))py_gemm, METH_FASTCALL, "y = act(a @ W + bias + res), W packed"},
    {"conv", (PyCFunction)(void (*)(void))py_conv, METH_FASTCALL, "channels_last convolution, W packed"},
    {"depthwise", (PyCFunction)(void (*)(void))py_depthwise, METH_FASTCALL, "channels_last depthwise convolution"},
    {"pool", (PyCFunction)(void (*)(void))py_pool, METH_FASTCALL, "channels_last max / average pooling"},
    {"max_pool_grad", (PyCFunction)(void (*)(void))py_max_pool_grad, METH_FASTCALL,
     "training's max-pool gradient, to each window's first maximum"},
    {"rnn", (PyCFunction)(void (*)(void))py_rnn, METH_FASTCALL, "every step of SimpleRNN / LSTM / GRU"},
    {"bias_act", (PyCFunction)(void (*)(void))py_bias_act, METH_FASTCALL, "y += bias, then act, in place"},
    {"softmax", py_softmax, METH_O, "softmax over the last axis, in place"},
    {"concat", (PyCFunction)(void (*)(void))py_concat, METH_FASTCALL, "float32 arrays side by side on the last axis"},
    {"embedding_mean", (PyCFunction)(void (*)(void))py_embedding_mean, METH_FASTCALL,
     "Embedding then GlobalAveragePooling1D in one pass"},
    {"affine", (PyCFunction)(void (*)(void))py_affine, METH_FASTCALL, "y = act(x * scale + shift) per channel"},
    {"matmul", (PyCFunction)(void (*)(void))py_matmul, METH_FASTCALL, "y = act(a @ b + bias), b unpacked (train)"},
    {"pack", (PyCFunction)(void (*)(void))py_pack, METH_FASTCALL, "weights (..., groups*F) into GEMM panels"},
    {"act_grad", (PyCFunction)(void (*)(void))py_act_grad, METH_FASTCALL,
     "g * act'(y) from the output, and its column sums (train)"},
    {"adam", (PyCFunction)(void (*)(void))py_adam, METH_FASTCALL, "fused in-place Adam / AMSGrad update (train)"},
    {"resize_bilinear", (PyCFunction)(void (*)(void))py_resize_bilinear, METH_FASTCALL,
     "tf.image.resize bilinear of uint8 / float32 images into float32"},
    KL_RNN_TRAIN_METHODS
    KL_SCATTER_METHODS
    {"_select_isa", py_select_isa, METH_O, "use the kernels of one ISA; False when unavailable"},
    {"_set_direct", py_set_direct, METH_O, "use the direct convolution where it pays (True) or never (False)"},
    {"_set_wide", py_set_wide, METH_O, "use the weights-outer order where it applies (True) or never (False)"},
    {"isa", py_isa, METH_NOARGS, "the ISA whose kernels run"},
    {"nr", py_nr, METH_NOARGS, "packed panel width of the current ISA"},
    {"set_threads", py_set_threads, METH_O, "threads per kernel call"},
    {"threads", py_threads, METH_NOARGS, "threads per kernel call"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ckernels", "keraslite's compiled kernels", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__ckernels(void) {
    if (kl_isa_avx512.name && cpu_has("avx512")) isa = &kl_isa_avx512;
    else if (kl_isa_avx2.name && cpu_has("avx2")) isa = &kl_isa_avx2;
    return PyModule_Create(&module);
}
