/* Row scatter-add for keraslite.train's lookup-table gradients (train/autodiff/sparse.py): out[indices[i]] +=
 * values[i] (or its square), the dense form of an Embedding's IndexedSlices. numpy's add.at takes ~1 ms for a
 * batch of 64 sequences of 50 tokens (32-wide rows); this is a few microseconds. Included by module.c after its
 * buffer helpers.
 *
 * rows_add(indices, values, out, square): indices int64 (n,), values float32 (n, width), out float32 (rows, width);
 * a negative index counts from the end, as numpy's; an index outside [-rows, rows) raises before anything is
 * written.
 */
static PyObject *py_rows_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4) return PyErr_Format(PyExc_TypeError, "rows_add() takes 4 arguments (%zd given)", nargs);
    arg_buf b[3];
    memset(b, 0, sizeof b);
    char code;
    int64_t square;
    if (get_typed(args[0], &b[0], "q", 0, "indices", &code) || get_f32(args[1], &b[1], 0, 0, "values")
        || get_f32(args[2], &b[2], 1, 0, "out") || get_ints(args, 3, 1, &square))
        goto error;
    {
        const int64_t n = b[0].v.len / 8, rows = b[2].v.ndim ? b[2].v.shape[0] : 0;
        const int64_t width = rows ? nfloats(&b[2]) / rows : 0;
        if (rows < 1 || nfloats(&b[1]) != n * width) {
            fail("_ckernels: rows_add values must be (len(indices), width) for out (rows, width)");
            goto error;
        }
        const int64_t *idx = (const int64_t *)b[0].v.buf;
        for (int64_t i = 0; i < n; i++)
            if (idx[i] < -rows || idx[i] >= rows) {
                PyErr_Format(PyExc_ValueError, "_ckernels: rows_add index %lld is out of range for %lld rows",
                             (long long)idx[i], (long long)rows);
                goto error;
            }
        const float *v = (const float *)b[1].v.buf;
        float *out = (float *)b[2].v.buf;
        Py_BEGIN_ALLOW_THREADS
        for (int64_t i = 0; i < n; i++) {
            float *o = out + (idx[i] < 0 ? idx[i] + rows : idx[i]) * width;
            const float *x = v + i * width;
            if (square)
                for (int64_t j = 0; j < width; j++) o[j] += x[j] * x[j];
            else
                for (int64_t j = 0; j < width; j++) o[j] += x[j];
        }
        Py_END_ALLOW_THREADS
    }
    release(b, 3);
    Py_RETURN_NONE;
error:
    release(b, 3);
    return NULL;
}

#define KL_SCATTER_METHODS                                                                                      \
    {"rows_add", (PyCFunction)(void (*)(void))py_rows_add, METH_FASTCALL,                                       \
     "training: out[indices[i]] += values[i] (or its square), rows of float32"},
