/* The Python face of training's recurrences (rnn_train.h): included by module.c after its buffer helpers.
 *
 * rnn_train_forward(kind, act, ract, zero_output, threads, xw, u, bias_h, mask, h, c, gate, aux, out, in_bias)
 * rnn_train_backward(kind, act, ract, zero_output, threads, u, mask, h, c, gate, aux, d_seq, d_last, dh, dc, dz, dm,
 *                    dbias, drbias)
 * dbias / drbias (G, or None) receive the sums of dz / dm over every step and row (the biases' gradients).
 * Shapes as in kl_rnn_train (None for the arrays a kind does not use); every size is checked against xw / h before
 * any is touched. The batch is split over up to `threads` of the pool's threads, rows being independent.
 */
#include <stdatomic.h>

#include "rnn_train.h"

static const kl_rnn_train_isa *rt_isa(void) {
    if (isa == &kl_isa_avx512 && kl_rnn_train_avx512.forward) return &kl_rnn_train_avx512;
    if (isa == &kl_isa_avx2 && kl_rnn_train_avx2.forward) return &kl_rnn_train_avx2;
    return &kl_rnn_train_base;
}

typedef struct {
    const kl_rnn_train *r;
    int backward;
    int64_t per, g;
    double *sums;                /* per task: dbias (g) then drbias (g) */
    atomic_int failed;
} rt_job;

static void rt_run(void *ctx, int64_t task, int tid) {
    (void)tid;
    rt_job *j = (rt_job *)ctx;
    int64_t r0 = task * j->per, r1 = r0 + j->per < j->r->n ? r0 + j->per : j->r->n;
    const kl_rnn_train_isa *k = rt_isa();
    kl_rnn_train part = *j->r;   /* the task's own bias sums: tasks may run at once */
    part.dbias = j->r->dbias ? j->sums + task * 2 * j->g : NULL;
    part.drbias = j->r->drbias ? j->sums + task * 2 * j->g + j->g : NULL;
    if ((j->backward ? k->backward : k->forward)(&part, r0, r1)) atomic_store(&j->failed, 1);
}

/* Runs the job over row ranges; dbias / drbias (float32, g) get the tasks' bias sums when given. */
static PyObject *rt_execute(const kl_rnn_train *r, int backward, int64_t threads, arg_buf *b, int nb, float *dbias,
                            float *drbias) {
    /* rows per task: a multiple of 8 and at least 16, so each keeps the product's row blocks whole */
    int64_t tasks = threads < 1 ? 1 : threads;
    int64_t per = (r->n + tasks - 1) / tasks;
    per = per < 16 ? 16 : (per + 7) / 8 * 8;
    tasks = (r->n + per - 1) / per;
    const int64_t g = RT_GATES(r->kind) * r->units;
    kl_rnn_train job_r = *r;
    double marker;
    job_r.dbias = dbias ? &marker : NULL;  /* non-NULL means wanted; rt_run points each task at its slice */
    job_r.drbias = drbias ? &marker : NULL;
    double *sums = (dbias || drbias) ? (double *)calloc((size_t)(tasks * 2 * g), sizeof(double)) : NULL;
    if ((dbias || drbias) && !sums) {
        release(b, nb);
        return PyErr_NoMemory();
    }
    rt_job job = {&job_r, backward, per, g, sums, 0};
    Py_BEGIN_ALLOW_THREADS
    kl_parallel(rt_run, &job, tasks, (int)threads);
    for (int k = 0; k < 2 && sums; k++) {
        float *dst = k == 0 ? dbias : drbias;
        if (!dst) continue;
        for (int64_t j = 0; j < g; j++) {
            double total = 0.0;
            for (int64_t t = 0; t < tasks; t++) total += sums[t * 2 * g + k * g + j];
            dst[j] = (float)total;
        }
    }
    Py_END_ALLOW_THREADS
    free(sums);
    release(b, nb);
    if (atomic_load(&job.failed)) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* Common checks: kind, codes, and every (T, N, ...) array against steps, n and units. */
static int rt_check(kl_rnn_train *r, int64_t kind, int64_t act, int64_t ract, arg_buf *mask, arg_buf *h, arg_buf *c,
                    arg_buf *gate, arg_buf *aux) {
    if (kind < 0 || kind > 3) return fail("_ckernels: rnn_train kind must be 0-3");
    if (act < 0 || act >= KL_ACT_COUNT || ract < 0 || ract >= KL_ACT_COUNT)
        return fail("_ckernels: rnn_train activation code");
    if (h->v.ndim != 3 || h->v.shape[0] < 2 || h->v.shape[1] < 1 || h->v.shape[2] < 1)
        return fail("_ckernels: rnn_train h must be (T + 1, N, units)");
    r->kind = (int)kind; r->act = (int)act; r->ract = (int)ract;
    r->steps = h->v.shape[0] - 1; r->n = h->v.shape[1]; r->units = h->v.shape[2];
    const int64_t tn = r->steps * r->n, u = r->units, g = RT_GATES(kind) * u;
    if (nfloats(gate) != tn * g) return fail("_ckernels: rnn_train gate must be (T, N, G)");
    if ((kind == 1) != c->held || (c->held && nfloats(c) != (tn + r->n) * u))
        return fail("_ckernels: rnn_train c must be (T + 1, N, units) for an LSTM, else None");
    if ((kind != 0) != aux->held || (aux->held && nfloats(aux) != tn * u))
        return fail("_ckernels: rnn_train aux must be (T, N, units), None for a SimpleRNN");
    if (mask->held && mask->v.len != tn) return fail("_ckernels: rnn_train mask must be (T, N) uint8");
    r->mask = mask->held ? (const uint8_t *)mask->v.buf : NULL;
    r->h = (float *)h->v.buf; r->c = c->held ? (float *)c->v.buf : NULL;
    r->gate = (float *)gate->v.buf; r->aux = aux->held ? (float *)aux->v.buf : NULL;
    return 0;
}

static int get_u8(PyObject *o, arg_buf *b, const char *what) {
    b->held = 0;
    if (o == Py_None) return 0;
    char code;
    return get_typed(o, b, "B", 0, what, &code);
}

static PyObject *py_rnn_train_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 15) return PyErr_Format(PyExc_TypeError, "rnn_train_forward() takes 15 arguments (%zd given)", nargs);
    arg_buf b[10];
    memset(b, 0, sizeof b);
    int64_t p[5];
    kl_rnn_train r = {0};
    if (get_ints(args, 0, 5, p) || get_f32(args[5], &b[0], 0, 0, "xw") || get_f32(args[6], &b[1], 0, 0, "u")
        || get_f32(args[7], &b[2], 0, 1, "bias_h") || get_u8(args[8], &b[3], "mask")
        || get_f32(args[9], &b[4], 1, 0, "h") || get_f32(args[10], &b[5], 1, 1, "c")
        || get_f32(args[11], &b[6], 1, 0, "gate") || get_f32(args[12], &b[7], 1, 1, "aux")
        || get_f32(args[13], &b[8], 1, 1, "out") || get_f32(args[14], &b[9], 0, 1, "in_bias"))
        goto error;
    if (rt_check(&r, p[0], p[1], p[2], &b[3], &b[4], &b[5], &b[6], &b[7])) goto error;
    {
        const int64_t tn = r.steps * r.n, u = r.units, g = RT_GATES(p[0]) * u;
        if (nfloats(&b[0]) != tn * g || nfloats(&b[1]) != u * g || (b[2].held && nfloats(&b[2]) != u)
            || (b[8].held != b[3].held) || (b[8].held && nfloats(&b[8]) != tn * u)
            || (b[9].held && nfloats(&b[9]) != g)) {
            fail("_ckernels: rnn_train_forward sizes (xw (T, N, G), u (units, G), bias_h (units), out (T, N, "
                 "units) exactly when masked, in_bias (G))");
            goto error;
        }
    }
    r.zero_output = (int)p[3];
    r.xw = (const float *)b[0].v.buf; r.u = (const float *)b[1].v.buf;
    r.bias_h = b[2].held ? (const float *)b[2].v.buf : NULL;
    r.out = b[8].held ? (float *)b[8].v.buf : NULL;
    r.in_bias = b[9].held ? (const float *)b[9].v.buf : NULL;
    return rt_execute(&r, 0, p[4], b, 10, NULL, NULL);
error:
    release(b, 10);
    return NULL;
}

static PyObject *py_rnn_train_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 19) return PyErr_Format(PyExc_TypeError, "rnn_train_backward() takes 19 arguments (%zd given)", nargs);
    arg_buf b[14];
    memset(b, 0, sizeof b);
    int64_t p[5];
    kl_rnn_train r = {0};
    if (get_ints(args, 0, 5, p) || get_f32(args[5], &b[0], 0, 0, "u") || get_u8(args[6], &b[1], "mask")
        || get_f32(args[7], &b[2], 0, 0, "h") || get_f32(args[8], &b[3], 0, 1, "c")
        || get_f32(args[9], &b[4], 0, 0, "gate") || get_f32(args[10], &b[5], 0, 1, "aux")
        || get_f32(args[11], &b[6], 0, 1, "d_seq") || get_f32(args[12], &b[7], 0, 1, "d_last")
        || get_f32(args[13], &b[8], 1, 0, "dh") || get_f32(args[14], &b[9], 1, 1, "dc")
        || get_f32(args[15], &b[10], 1, 0, "dz") || get_f32(args[16], &b[11], 1, 1, "dm")
        || get_f32(args[17], &b[12], 1, 1, "dbias") || get_f32(args[18], &b[13], 1, 1, "drbias"))
        goto error;
    if (rt_check(&r, p[0], p[1], p[2], &b[1], &b[2], &b[3], &b[4], &b[5])) goto error;
    {
        const int64_t tn = r.steps * r.n, u = r.units, g = RT_GATES(p[0]) * u;
        if (nfloats(&b[0]) != u * g || (b[6].held && nfloats(&b[6]) != tn * u)
            || (b[7].held && nfloats(&b[7]) != r.n * u) || nfloats(&b[8]) != r.n * u
            || (b[9].held != (p[0] == 1)) || (b[9].held && nfloats(&b[9]) != r.n * u) || nfloats(&b[10]) != tn * g
            || (b[11].held != (p[0] == 2)) || (b[11].held && nfloats(&b[11]) != tn * g)
            || (b[12].held && nfloats(&b[12]) != g) || (b[13].held && (p[0] != 2 || nfloats(&b[13]) != g))) {
            fail("_ckernels: rnn_train_backward sizes (u (units, G), d_seq (T, N, units), d_last and dh (N, units), "
                 "dc for an LSTM, dz (T, N, G), dm for a reset-after GRU, dbias (G), drbias (G) with dm)");
            goto error;
        }
    }
    r.zero_output = (int)p[3];
    r.u = (const float *)b[0].v.buf;
    r.d_seq = b[6].held ? (const float *)b[6].v.buf : NULL;
    r.d_last = b[7].held ? (const float *)b[7].v.buf : NULL;
    r.dh = (float *)b[8].v.buf; r.dc = b[9].held ? (float *)b[9].v.buf : NULL;
    r.dz = (float *)b[10].v.buf; r.dm = b[11].held ? (float *)b[11].v.buf : NULL;
    return rt_execute(&r, 1, p[4], b, 14, b[12].held ? (float *)b[12].v.buf : NULL,
                      b[13].held ? (float *)b[13].v.buf : NULL);
error:
    release(b, 14);
    return NULL;
}

#define KL_RNN_TRAIN_METHODS                                                                                    \
    {"rnn_train_forward", (PyCFunction)(void (*)(void))py_rnn_train_forward, METH_FASTCALL,                     \
     "training: every step of a SimpleRNN / LSTM / GRU call, keeping what the backward pass needs"},            \
    {"rnn_train_backward", (PyCFunction)(void (*)(void))py_rnn_train_backward, METH_FASTCALL,                   \
     "training: the backward pass through time of rnn_train_forward"},
