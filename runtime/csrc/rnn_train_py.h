/* The Python face of training's recurrences (rnn_train.h): included by module.c after its buffer helpers.
 *
 * rnn_train(backward, jobs): jobs is a list of argument tuples, each
 *   forward:  (kind, act, ract, zero_output, xw, u, bias_h, mask, h, c, gate, aux, out, in_bias)
 *   backward: (kind, act, ract, zero_output, u, mask, h, c, gate, aux, d_seq, d_last, dh, dc, dz, dm, dbias, drbias)
 * with shapes as in kl_rnn_train (None for the arrays a kind does not use); dbias / drbias (G, or None) receive the
 * sums of dz / dm over every step and row (the biases' gradients). Every size of every job is checked before any
 * runs. The jobs (a Bidirectional layer's two directions) then run at once on the pool's threads, or one after the
 * other on the caller's when no worker is free (a busy machine), with the GIL released.
 */
#include <stdatomic.h>

#include "rnn_train.h"

#define RT_MAX_JOBS 8

static const kl_rnn_train_isa *rt_isa(void) {
    if (isa == &kl_isa_avx512 && kl_rnn_train_avx512.forward) return &kl_rnn_train_avx512;
    if (isa == &kl_isa_avx2 && kl_rnn_train_avx2.forward) return &kl_rnn_train_avx2;
    return &kl_rnn_train_base;
}

typedef struct {
    kl_rnn_train r;
    arg_buf b[14];
    float *dbias, *drbias;       /* float32 outputs of the double sums in r */
} rt_call;

typedef struct {
    rt_call *calls;
    int backward;
    atomic_int failed;
} rt_job;

static void rt_run(void *ctx, int64_t task, int tid) {
    (void)tid;
    rt_job *j = (rt_job *)ctx;
    const kl_rnn_train *r = &j->calls[task].r;
    const kl_rnn_train_isa *k = rt_isa();
    if ((j->backward ? k->backward : k->forward)(r, 0, r->n)) atomic_store(&j->failed, 1);
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

static int rt_parse_forward(PyObject *const *args, Py_ssize_t nargs, rt_call *call) {
    arg_buf *b = call->b;
    kl_rnn_train *r = &call->r;
    int64_t p[4];
    if (nargs != 14) return fail("_ckernels: a forward rnn_train job has 14 entries");
    if (get_ints(args, 0, 4, p) || get_f32(args[4], &b[0], 0, 0, "xw") || get_f32(args[5], &b[1], 0, 0, "u")
        || get_f32(args[6], &b[2], 0, 1, "bias_h") || get_u8(args[7], &b[3], "mask")
        || get_f32(args[8], &b[4], 1, 0, "h") || get_f32(args[9], &b[5], 1, 1, "c")
        || get_f32(args[10], &b[6], 1, 0, "gate") || get_f32(args[11], &b[7], 1, 1, "aux")
        || get_f32(args[12], &b[8], 1, 1, "out") || get_f32(args[13], &b[9], 0, 1, "in_bias"))
        return -1;
    if (rt_check(r, p[0], p[1], p[2], &b[3], &b[4], &b[5], &b[6], &b[7])) return -1;
    const int64_t tn = r->steps * r->n, u = r->units, g = RT_GATES(p[0]) * u;
    if (nfloats(&b[0]) != tn * g || nfloats(&b[1]) != u * g || (b[2].held && nfloats(&b[2]) != u)
        || (b[8].held != b[3].held) || (b[8].held && nfloats(&b[8]) != tn * u) || (b[9].held && nfloats(&b[9]) != g))
        return fail("_ckernels: rnn_train forward sizes (xw (T, N, G), u (units, G), bias_h (units), out (T, N, "
                    "units) exactly when masked, in_bias (G))");
    r->zero_output = (int)p[3];
    r->xw = (const float *)b[0].v.buf; r->u = (const float *)b[1].v.buf;
    r->bias_h = b[2].held ? (const float *)b[2].v.buf : NULL;
    r->out = b[8].held ? (float *)b[8].v.buf : NULL;
    r->in_bias = b[9].held ? (const float *)b[9].v.buf : NULL;
    return 0;
}

static int rt_parse_backward(PyObject *const *args, Py_ssize_t nargs, rt_call *call) {
    arg_buf *b = call->b;
    kl_rnn_train *r = &call->r;
    int64_t p[4];
    if (nargs != 18) return fail("_ckernels: a backward rnn_train job has 18 entries");
    if (get_ints(args, 0, 4, p) || get_f32(args[4], &b[0], 0, 0, "u") || get_u8(args[5], &b[1], "mask")
        || get_f32(args[6], &b[2], 0, 0, "h") || get_f32(args[7], &b[3], 0, 1, "c")
        || get_f32(args[8], &b[4], 0, 0, "gate") || get_f32(args[9], &b[5], 0, 1, "aux")
        || get_f32(args[10], &b[6], 0, 1, "d_seq") || get_f32(args[11], &b[7], 0, 1, "d_last")
        || get_f32(args[12], &b[8], 1, 0, "dh") || get_f32(args[13], &b[9], 1, 1, "dc")
        || get_f32(args[14], &b[10], 1, 0, "dz") || get_f32(args[15], &b[11], 1, 1, "dm")
        || get_f32(args[16], &b[12], 1, 1, "dbias") || get_f32(args[17], &b[13], 1, 1, "drbias"))
        return -1;
    if (rt_check(r, p[0], p[1], p[2], &b[1], &b[2], &b[3], &b[4], &b[5])) return -1;
    const int64_t tn = r->steps * r->n, u = r->units, g = RT_GATES(p[0]) * u;
    if (nfloats(&b[0]) != u * g || (b[6].held && nfloats(&b[6]) != tn * u) || (b[7].held && nfloats(&b[7]) != r->n * u)
        || nfloats(&b[8]) != r->n * u || (b[9].held != (p[0] == 1)) || (b[9].held && nfloats(&b[9]) != r->n * u)
        || nfloats(&b[10]) != tn * g || (b[11].held != (p[0] == 2)) || (b[11].held && nfloats(&b[11]) != tn * g)
        || (b[12].held && nfloats(&b[12]) != g) || (b[13].held && (p[0] != 2 || nfloats(&b[13]) != g)))
        return fail("_ckernels: rnn_train backward sizes (u (units, G), d_seq (T, N, units), d_last and dh (N, "
                    "units), dc for an LSTM, dz (T, N, G), dm for a reset-after GRU, dbias (G), drbias (G) with dm)");
    r->zero_output = (int)p[3];
    r->u = (const float *)b[0].v.buf;
    r->d_seq = b[6].held ? (const float *)b[6].v.buf : NULL;
    r->d_last = b[7].held ? (const float *)b[7].v.buf : NULL;
    r->dh = (float *)b[8].v.buf; r->dc = b[9].held ? (float *)b[9].v.buf : NULL;
    r->dz = (float *)b[10].v.buf; r->dm = b[11].held ? (float *)b[11].v.buf : NULL;
    call->dbias = b[12].held ? (float *)b[12].v.buf : NULL;
    call->drbias = b[13].held ? (float *)b[13].v.buf : NULL;
    return 0;
}

static PyObject *py_rnn_train(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) return PyErr_Format(PyExc_TypeError, "rnn_train() takes 2 arguments (%zd given)", nargs);
    int64_t backward;
    if (get_ints(args, 0, 1, &backward)) return NULL;
    PyObject *jobs = PySequence_Fast(args[1], "_ckernels: rnn_train jobs must be a list of argument tuples");
    if (!jobs) return NULL;
    Py_ssize_t njobs = PySequence_Fast_GET_SIZE(jobs);
    rt_call calls[RT_MAX_JOBS];
    memset(calls, 0, sizeof calls);
    PyObject *result = NULL;
    double *sums = NULL;
    int parsed = 0;
    if (njobs < 1 || njobs > RT_MAX_JOBS) {
        fail("_ckernels: rnn_train takes 1 to 8 jobs");
        goto done;
    }
    for (; parsed < njobs; parsed++) {
        PyObject *job = PySequence_Fast(PySequence_Fast_GET_ITEM(jobs, parsed), "_ckernels: an rnn_train job must "
                                        "be a tuple of arguments");
        if (!job) goto done;
        int rc = (backward ? rt_parse_backward : rt_parse_forward)(PySequence_Fast_ITEMS(job),
                                                                    PySequence_Fast_GET_SIZE(job), &calls[parsed]);
        Py_DECREF(job);  /* the buffers hold their own references to the arrays */
        if (rc) {
            parsed++;  /* release what this job got before failing */
            goto done;
        }
    }
    int64_t total = 0;
    for (int i = 0; i < njobs; i++) total += RT_GATES(calls[i].r.kind) * calls[i].r.units * 2;
    sums = (double *)calloc((size_t)total + 1, sizeof(double));
    if (!sums) {
        PyErr_NoMemory();
        goto done;
    }
    for (int i = 0, off = 0; i < njobs; i++) {
        const int64_t g = RT_GATES(calls[i].r.kind) * calls[i].r.units;
        calls[i].r.dbias = calls[i].dbias ? sums + off : NULL;
        calls[i].r.drbias = calls[i].drbias ? sums + off + g : NULL;
        off += 2 * g;
    }
    rt_job job = {calls, (int)backward, 0};
    Py_BEGIN_ALLOW_THREADS
    kl_parallel(rt_run, &job, njobs, (int)njobs);
    for (int i = 0; i < njobs; i++) {
        const int64_t g = RT_GATES(calls[i].r.kind) * calls[i].r.units;
        for (int64_t j = 0; j < g; j++) {
            if (calls[i].dbias) calls[i].dbias[j] = (float)calls[i].r.dbias[j];
            if (calls[i].drbias) calls[i].drbias[j] = (float)calls[i].r.drbias[j];
        }
    }
    Py_END_ALLOW_THREADS
    if (atomic_load(&job.failed)) PyErr_NoMemory();
    else result = Py_None, Py_INCREF(Py_None);
done:
    for (int i = 0; i < parsed; i++) release(calls[i].b, 14);
    free(sums);
    Py_DECREF(jobs);
    return result;
}

#define KL_RNN_TRAIN_METHODS                                                                                    \
    {"rnn_train", (PyCFunction)(void (*)(void))py_rnn_train, METH_FASTCALL,                                     \
     "training: every step of SimpleRNN / LSTM / GRU calls forwards (keeping what the backward pass needs) or "  \
     "backwards through time, several at once"},
