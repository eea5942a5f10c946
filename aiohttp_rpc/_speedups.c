/*
 * aiohttp_rpc._speedups: optional C versions of three steps that run on every message, each with a pure-Python
 * twin that is the reference and the fallback (chosen in aiohttp_rpc/_native.py).
 *
 * has_non_finite(value) answers whether value holds a NaN or an infinity, looking through dicts (their
 * values), lists and tuples (subclasses included) to any depth, exactly like the pure-Python walk in
 * aiohttp_rpc/dispatch/finite.py. orjson writes such a float as
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
has_non_finite(PyObject *Py_UNUSED(module), PyObject *value)
{
    int found = walk(value, 0);
    if (found < 0) {
        return NULL;
    }
    return PyBool_FromLong(found);
}

/* has_long_number(data): whether the bytes hold a run of LONG_RUN or more ASCII digits, the mark of an integer
 * orjson would round to a float (aiohttp_rpc/serialization.py, where the pure-Python test lives). */
#define LONG_RUN 19

static PyObject *
has_long_number(PyObject *Py_UNUSED(module), PyObject *data)
{
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "expected bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    const unsigned char *byte = (const unsigned char *)PyBytes_AS_STRING(data);
    const unsigned char *end = byte + PyBytes_GET_SIZE(data);
    int run = 0;
    for (; byte < end; byte++) {
        if (*byte >= '0' && *byte <= '9') {
            if (++run >= LONG_RUN) {
                Py_RETURN_TRUE;
            }
        }
        else {
            run = 0;
        }
    }
    Py_RETURN_FALSE;
}

/* send_none(coro): one step of a coroutine, coro.send(None), told apart without StopIteration: (True, returned
 * value) when it finished, (False, yielded value) when it waits. Its exceptions propagate as they are. A call
 * that completes at once (most do) then costs no exception object, traceback entry or handler: about 0.3 us
 * per call (aiohttp_rpc/dispatch/eager.py holds the pure-Python twin). */
static PyObject *
send_none(PyObject *Py_UNUSED(module), PyObject *coro)
{
    PyObject *value = NULL;
    PySendResult status = PyIter_Send(coro, Py_None, &value);
    if (status == PYGEN_ERROR) {
        return NULL;
    }
    PyObject *step = PyTuple_Pack(2, status == PYGEN_RETURN ? Py_True : Py_False, value);
    Py_DECREF(value);
    return step;
}

static PyMethodDef speedups_methods[] = {
    {"has_non_finite", has_non_finite, METH_O,
     "has_non_finite(value, /)\n--\n\nWhether value holds NaN or an infinity (in dicts, lists and tuples, at any depth)."},
    {"send_none", send_none, METH_O,
     "send_none(coro, /)\n--\n\n(True, value returned) or (False, value yielded): one coro.send(None), no StopIteration."},
    {"has_long_number", has_long_number, METH_O,
     "has_long_number(data, /)\n--\n\nWhether the bytes hold a run of 19 or more ASCII digits."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef_Slot speedups_slots[] = {
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "aiohttp_rpc._speedups",
    .m_doc = "Optional C speedups for aiohttp_rpc (see aiohttp_rpc/_native.py).",
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
