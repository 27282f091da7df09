/*
 * imagetrust.sbom._tarfast: the one step of the tar walker that per-header Python cannot
 * make cheap enough, done in C.
 *
 * Why: some builders write a pax extended header before every entry (sub-second times,
 * extended attributes). The walker uses none of those records, yet checking such a header
 * (its checksum, its size field, every record) took ~18,800 instructions per entry in
 * Python: a PAX-heavy layer cost x1.15-1.2 the same files without the headers, against an
 * aim of x1.10 (issue 25, bench/pax.py). Here it is one call.
 *
 * What it promises: skip_unused_pax(buf, pos) returns the offset just past a pax header
 * ('x') that starts at pos and its padded data, when the header and its data lie wholly in
 * buf, the checksum is exactly right, the size field is plain octal, and every record is
 * well formed with a key the walker does not use. In every other case it returns -1 and the
 * Python walker handles the header as it would without this module: with its own, more
 * lenient parsing, its errors and the records it keeps. So this code may only ever be
 * stricter than the Python path, never more lenient; tests/sbom/test_tarfast.py holds it to
 * that against the Python reference on random and broken headers.
 *
 * It reads only within buf (every index is checked against its length), allocates
 * nothing, and keeps no state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define BLOCK 512
#define MAX_META (1 << 20) /* tarstream.MAX_META: larger pax data goes to the Python path */

/* An octal field as tarstream's inlined parse reads it in its common shape: spaces, at
 * least one octal digit, then only NULs or spaces to the field's end. -1 for anything
 * else (GNU base-256, embedded NULs before digits, signs...): the Python path decides. */
static long long
octal_field(const unsigned char *field, Py_ssize_t length)
{
    Py_ssize_t i = 0;
    long long value = 0;
    int digits = 0;

    while (i < length && field[i] == ' ')
        i++;
    while (i < length && field[i] >= '0' && field[i] <= '7') {
        if (++digits > 20)
            return -1;
        value = value * 8 + (field[i] - '0');
        i++;
    }
    if (digits == 0)
        return -1;
    for (; i < length; i++)
        if (field[i] != '\0' && field[i] != ' ')
            return -1;
    return value;
}

/* The pax keys tarstream acts on (_PAX_KEYS): a header with one of them is not skipped. */
static int
used_key(const unsigned char *key, Py_ssize_t length)
{
    static const char *const used[] = {
        "path", "linkpath", "size", "GNU.sparse.name", "GNU.sparse.major",
    };
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++) {
        size_t n = strlen(used[i]);
        if ((size_t)length == n && memcmp(key, used[i], n) == 0)
            return 1;
    }
    return 0;
}

/* 1 if data[0:size] holds only well-formed records of unused keys (as tarstream's
 * _pax_records accepts them and keeps nothing), up to NUL padding; 0 otherwise. */
static int
unused_records(const unsigned char *data, Py_ssize_t size)
{
    Py_ssize_t pos = 0;

    while (pos < size) {
        if (data[pos] == '\0') /* NUL padding after the last record: the rest is ignored */
            return 1;
        Py_ssize_t limit = size < pos + 24 ? size : pos + 24;
        Py_ssize_t space = pos;
        while (space < limit && data[space] != ' ')
            space++;
        if (space == limit || space == pos || space - pos > 8)
            return 0;
        Py_ssize_t length = 0;
        for (Py_ssize_t i = pos; i < space; i++) {
            if (data[i] < '0' || data[i] > '9')
                return 0;
            length = length * 10 + (data[i] - '0');
        }
        /* the record: "LEN key=value\n", LEN counting the whole record */
        if (length <= space - pos + 1 || length > size - pos || data[pos + length - 1] != '\n')
            return 0;
        const unsigned char *key = data + space + 1;
        Py_ssize_t rest = pos + length - 1 - (space + 1); /* key=value, without the newline */
        const unsigned char *eq = memchr(key, '=', (size_t)rest);
        if (eq == NULL || used_key(key, eq - key))
            return 0;
        pos += length;
    }
    return 1;
}

static PyObject *
skip_unused_pax(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "skip_unused_pax(buf, pos) takes two arguments");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (!PyBytes_Check(args[0])) /* a bytearray or memoryview chunk: the Python path reads it */
        return PyLong_FromLong(-1);
    Py_ssize_t length = PyBytes_GET_SIZE(args[0]);
    const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(args[0]);

    if (pos < 0 || pos > length || length - pos < BLOCK)
        return PyLong_FromLong(-1);
    const unsigned char *block = buf + pos;
    if (block[156] != 'x')
        return PyLong_FromLong(-1);

    long long stored = octal_field(block + 148, 8);
    if (stored < 0)
        return PyLong_FromLong(-1);
    long long sum = 0;
    for (int i = 0; i < BLOCK; i++)
        sum += block[i];
    for (int i = 148; i < 156; i++) /* the checksum field counts as eight spaces */
        sum -= block[i];
    sum += 8 * ' ';
    if (sum != stored)
        return PyLong_FromLong(-1);

    long long size = octal_field(block + 124, 12);
    if (size < 0 || size > MAX_META)
        return PyLong_FromLong(-1);
    Py_ssize_t whole = (Py_ssize_t)((size + BLOCK - 1) / BLOCK * BLOCK);
    if (length - pos - BLOCK < whole)
        return PyLong_FromLong(-1);
    if (!unused_records(block + BLOCK, (Py_ssize_t)size))
        return PyLong_FromLong(-1);
    return PyLong_FromSsize_t(pos + BLOCK + whole);
}

static PyMethodDef methods[] = {
    {"skip_unused_pax", (PyCFunction)(void (*)(void))skip_unused_pax, METH_FASTCALL,
     "skip_unused_pax(buf, pos) -> int\n\n"
     "The offset past a pax header at pos whose records the walker does not use, "
     "checked; -1 when the Python walker must look at it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_tarfast",
    .m_doc = "The tar walker's pax header shortcut, in C.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__tarfast(void)
{
    return PyModule_Create(&module);
}
