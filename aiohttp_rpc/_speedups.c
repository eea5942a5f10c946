/*
 * aiohttp_rpc._speedups: the optional C half of aiohttp_rpc.dispatch.finite.
 *
 * has_non_finite(value) answers whether value holds a NaN or an infinity, looking through dicts (their
 * values), lists and tuples (subclasses included) to any depth, exactly like the pure-Python walk in
 * aiohttp_rpc/dispatch/finite.py, which stays the reference and the fallback. orjson writes such a float as
 * null, so the reply encoder asks this of every reply whose JSON holds a null; in C it costs about a tenth of
 * the Python walk (benchmarks/RESULTS.md).
 *
 * No Python code runs during the walk (only type tests and reads of the containers' own storage), so the
 * containers cannot change under it. Nesting deeper than MAX_DEPTH raises RecursionError, as the Python walk
 * does at the interpreter's limit (a cycle ends the same way).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

#define MAX_DEPTH 1000

/* 1: a non-finite float was found; 0: none; -1: an exception is set. */
static int walk(PyObject *value, int depth);

static int
walk_items(PyObject *const *items, Py_ssize_t count, int depth)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = items[i];
        if (PyUnicode_CheckExact(item) || PyLong_CheckExact(item) || item == Py_None || PyBool_Check(item)) {
            continue;
        }
        int found = walk(item, depth);
        if (found != 0) {
            return found;
        }
    }
    return 0;
}

static int
walk(PyObject *value, int depth)
{
    if (PyFloat_Check(value)) {
        return !isfinite(PyFloat_AS_DOUBLE(value));
    }
    int is_dict = PyDict_Check(value);
    if (!is_dict && !PyList_Check(value) && !PyTuple_Check(value)) {
        return 0;
    }
    if (depth >= MAX_DEPTH) {
        PyErr_SetString(PyExc_RecursionError, "value nested too deeply to check for non-finite floats");
        return -1;
    }
    if (!is_dict) {
        return walk_items(PySequence_Fast_ITEMS(value), PySequence_Fast_GET_SIZE(value), depth + 1);
    }
    Py_ssize_t position = 0;
    PyObject *key, *item;
    while (PyDict_Next(value, &position, &key, &item)) {
        int found = walk_items(&item, 1, depth + 1);
        if (found != 0) {
            return found;
        }
    }
    return 0;
}

static PyObject *
has_non_finite(PyObject *module, PyObject *value)
{
    int found = walk(value, 0);
    if (found < 0) {
        return NULL;
    }
    return PyBool_FromLong(found);
}

static PyMethodDef speedups_methods[] = {
    {"has_non_finite", has_non_finite, METH_O,
     "has_non_finite(value, /)\n--\n\nWhether value holds NaN or an infinity (in dicts, lists and tuples, at any depth)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef_Slot speedups_slots[] = {
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "aiohttp_rpc._speedups",
    .m_doc = "Optional C speedups for aiohttp_rpc (see aiohttp_rpc/dispatch/finite.py).",
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
