/*
 * aiohttp_rpc._speedups: optional C versions of five steps that run on every message, each with a pure-Python
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

/* Exact types first: a JSON result is made of them, and an exact test is one comparison where PyFloat_Check()
 * on a container walks its type's bases. Subclasses are still looked through, on the slower path. */
static int
walk_items(PyObject *const *items, Py_ssize_t count, int depth)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = items[i];
        PyTypeObject *type = Py_TYPE(item);
        if (type == &PyUnicode_Type || type == &PyLong_Type || item == Py_None || type == &PyBool_Type) {
            continue;
        }
        if (type == &PyFloat_Type) {
            if (!isfinite(PyFloat_AS_DOUBLE(item))) {
                return 1;
            }
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
    int is_dict = PyDict_Check(value);
    if (!is_dict && !PyList_Check(value) && !PyTuple_Check(value)) {
        return PyFloat_Check(value) && !isfinite(PyFloat_AS_DOUBLE(value));
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
 * orjson would round to a float (aiohttp_rpc/serialization.py, where the pure-Python test lives).
 *
 * It looks at the last byte of each window of LONG_RUN bytes that could still hold such a run: when that byte
 * is not a digit, no run ends in the next LONG_RUN positions, and the window moves on by LONG_RUN; when it is,
 * the digits before it are counted back to the window's start, and the window moves past the first non-digit.
 * Typical JSON (few long digit runs) costs about one byte in LONG_RUN (a 1 KB body: a fifth of a byte-by-byte
 * loop). Every window ending before the one looked at is known to hold a non-digit. */
#define LONG_RUN 19
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

static PyObject *
has_long_number(PyObject *Py_UNUSED(module), PyObject *data)
{
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "expected bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    const unsigned char *bytes = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    Py_ssize_t last = LONG_RUN - 1; /* the last byte of the window looked at */
    while (last < size) {
        if (!IS_DIGIT(bytes[last])) {
            last += LONG_RUN;
            continue;
        }
        Py_ssize_t first = last - (LONG_RUN - 1), at = last - 1;
        while (at >= first && IS_DIGIT(bytes[at])) {
            at--;
        }
        if (at < first) {
            Py_RETURN_TRUE;
        }
        last = at + LONG_RUN; /* the first window past the non-digit at `at` */
    }
    Py_RETURN_FALSE;
}

/* send_none(coro, context=None): one step of a coroutine, coro.send(None), told apart without StopIteration:
 * (True, returned value) when it finished, (False, yielded value) when it waits. Its exceptions propagate as
 * they are. With a context, the step runs in it, as context.run(coro.send, None) would (and fails the same way
 * when that context is already entered). A call that completes at once (most do) then costs no exception object,
 * traceback entry or handler, nor the frame of Context.run: about 0.3 us per call (aiohttp_rpc/dispatch/eager.py
 * holds the pure-Python twin). */
static PyObject *
send_none(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "send_none() takes 1 or 2 positional arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *coro = args[0];
    PyObject *context = nargs == 2 ? args[1] : Py_None;
    if (context != Py_None) {
        if (!PyContext_CheckExact(context)) {
            PyErr_Format(PyExc_TypeError, "expected a contextvars.Context, not %.100s", Py_TYPE(context)->tp_name);
            return NULL;
        }
        if (PyContext_Enter(context) < 0) {
            return NULL;
        }
    }
    PyObject *value = NULL;
    PySendResult status = PyIter_Send(coro, Py_None, &value);
    if (context != Py_None && PyContext_Exit(context) < 0) {
        Py_XDECREF(value);
        return NULL;
    }
    if (status == PYGEN_ERROR) {
        return NULL;
    }
    PyObject *step = PyTuple_Pack(2, status == PYGEN_RETURN ? Py_True : Py_False, value);
    Py_DECREF(value);
    return step;
}

/* read_call(data): (method, id, args, kwargs) of a call object in the common, valid shape, or None, exactly as
 * read_call_py in aiohttp_rpc/protocol/request.py (the reference). Every call of a batch and every single call
 * starts here; in C it costs about a fifth of the Python version. Only a plain dict is read here: for anything
 * else it answers None, and the caller's full path (JSONRPCRequest.load) reads the object and gives the exact
 * error or request, as it does for every call None is answered for. */
static PyObject *key_method, *key_id, *key_jsonrpc, *key_params, *key_result, *version_2_0, *empty_tuple;

static PyObject *
read_call(PyObject *Py_UNUSED(module), PyObject *data)
{
    if (!PyDict_CheckExact(data)) {
        Py_RETURN_NONE;
    }
    PyObject *method = PyDict_GetItemWithError(data, key_method);
    if (method == NULL || !PyUnicode_CheckExact(method) || PyUnicode_GET_LENGTH(method) == 0) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    PyObject *jsonrpc = PyDict_GetItemWithError(data, key_jsonrpc);
    if (jsonrpc == NULL) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    if (PyUnicode_CheckExact(jsonrpc)) {
        if (PyUnicode_Compare(jsonrpc, version_2_0) != 0) {
            Py_RETURN_NONE;
        }
    }
    else {
        int equal = PyObject_RichCompareBool(jsonrpc, version_2_0, Py_EQ);
        if (equal <= 0) {
            return equal < 0 ? NULL : Py_NewRef(Py_None);
        }
    }
    PyObject *request_id = PyDict_GetItemWithError(data, key_id);
    if (request_id == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        request_id = Py_None;
    }
    else if (request_id != Py_None && !PyUnicode_Check(request_id) && !(PyLong_Check(request_id) && !PyBool_Check(request_id))) {
        Py_RETURN_NONE;
    }
    PyObject *params = PyDict_GetItemWithError(data, key_params);
    PyObject *args, *kwargs;
    if (params == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        args = Py_NewRef(empty_tuple);
        kwargs = PyDict_New();
    }
    else if (PyList_CheckExact(params)) {
        args = Py_NewRef(params);
        kwargs = PyDict_New();
    }
    else if (PyDict_CheckExact(params)) {
        args = Py_NewRef(empty_tuple);
        kwargs = Py_NewRef(params);
    }
    else {
        Py_RETURN_NONE;
    }
    PyObject *call = kwargs == NULL ? NULL : PyTuple_Pack(4, method, request_id, args, kwargs);
    Py_DECREF(args);
    Py_XDECREF(kwargs);
    return call;
}

/* start_plain(plain, methods, max_name_length, otherwise, item, context): a call's first step on the lazy path,
 * exactly as start_plain_py in aiohttp_rpc/dispatch/plain.py (the reference). When item is a well-formed call
 * to a plain route (plain maps a name to (method, function), and methods, the server's name -> method mapping,
 * still serves that very method), the function is called with the params in a copy of the current context, as
 * a task of its own would run it, and one step of its coroutine is taken; a call that completes there is
 * answered here: its reply dict, or None for a notification. Anything else is otherwise(item, context,
 * outcome)'s to answer, outcome being False (not a call taken here; nothing has run), (coro, yielded, context)
 * (the call waits) or the exception the call raised, its traceback attached. In C a batch member costs its
 * method's coroutine and its reply, and no Python frame of ours (benchmarks/RESULTS.md). */
static PyObject *key_meta;

/* The first step: the reply dict, None, False, (coro, yielded, context), or NULL with the exception set. */
static PyObject *
first_step(PyObject *module, PyObject *item, PyObject *plain, PyObject *methods, Py_ssize_t max_name_length)
{
    if (!PyDict_CheckExact(plain) || !PyDict_CheckExact(methods)) {
        return Py_NewRef(Py_False);
    }
    PyObject *call = read_call(module, item);
    if (call == NULL) {
        return NULL;
    }
    if (call == Py_None) {
        Py_DECREF(call);
        return Py_NewRef(Py_False);
    }
    PyObject *name = PyTuple_GET_ITEM(call, 0), *request_id = PyTuple_GET_ITEM(call, 1);
    PyObject *call_args = PyTuple_GET_ITEM(call, 2), *call_kwargs = PyTuple_GET_ITEM(call, 3);
    PyObject *result = NULL, *func = NULL, *positional = NULL, *coro = NULL, *context = NULL, *value = NULL;
    if (PyUnicode_GET_LENGTH(name) > max_name_length) {
        result = Py_NewRef(Py_False);
        goto done;
    }
    PyObject *entry = PyDict_GetItemWithError(plain, name); /* borrowed: used before any Python code runs */
    if (entry == NULL) {
        result = PyErr_Occurred() ? NULL : Py_NewRef(Py_False);
        goto done;
    }
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2) {
        PyErr_SetString(PyExc_TypeError, "start_plain(): a plain entry must be a (method, function) tuple");
        goto done;
    }
    PyObject *served = PyDict_GetItemWithError(methods, name);
    if (served != PyTuple_GET_ITEM(entry, 0)) {
        result = PyErr_Occurred() ? NULL : Py_NewRef(Py_False);
        goto done;
    }
    if (PyDict_GET_SIZE(call_kwargs) > 0) {
        int has_meta = PyDict_Contains(call_kwargs, key_meta);
        if (has_meta != 0) {
            result = has_meta < 0 ? NULL : Py_NewRef(Py_False);
            goto done;
        }
    }
    func = Py_NewRef(PyTuple_GET_ITEM(entry, 1));
    positional = PyList_CheckExact(call_args) ? PyList_AsTuple(call_args) : Py_NewRef(call_args);
    if (positional == NULL) {
        goto done;
    }
    coro = PyObject_Call(func, positional, PyDict_GET_SIZE(call_kwargs) > 0 ? call_kwargs : NULL);
    if (coro == NULL) {
        /* The params may not fit the function: the full path calls the method itself, which tells. Calling a
         * coroutine function runs none of its code, so nothing has happened yet. */
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            result = Py_NewRef(Py_False);
        }
        goto done;
    }
    context = PyContext_CopyCurrent();
    if (context == NULL || PyContext_Enter(context) < 0) {
        goto done;
    }
    PySendResult status = PyIter_Send(coro, Py_None, &value);
    if (PyContext_Exit(context) < 0 || status == PYGEN_ERROR) {
        goto done;
    }
    if (status == PYGEN_NEXT) {
        result = PyTuple_Pack(3, coro, value, context);
        goto done;
    }
    int has_id = PyDict_Contains(item, key_id);
    if (has_id <= 0) {
        result = has_id < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    result = PyDict_New();
    if (result != NULL && (PyDict_SetItem(result, key_id, request_id) < 0 ||
                           PyDict_SetItem(result, key_jsonrpc, version_2_0) < 0 ||
                           PyDict_SetItem(result, key_result, value) < 0)) {
        Py_CLEAR(result);
    }
done:
    Py_XDECREF(value);
    Py_XDECREF(context);
    Py_XDECREF(coro);
    Py_XDECREF(positional);
    Py_XDECREF(func);
    Py_DECREF(call);
    return result;
}

/* The exception being raised, normalized, its traceback attached; the error indicator is cleared. */
static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value != NULL && traceback != NULL && PyException_SetTraceback(value, traceback) < 0) {
        Py_CLEAR(value);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

static PyObject *
start_plain(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "start_plain() takes 6 positional arguments (%zd given)", nargs);
        return NULL;
    }
    Py_ssize_t max_name_length = PyLong_AsSsize_t(args[2]);
    if (max_name_length == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *otherwise = args[3], *item = args[4], *context = args[5];
    PyObject *outcome = first_step(module, item, args[0], args[1], max_name_length);
    if (outcome == NULL) {
        outcome = take_exception();
        if (outcome == NULL) {
            return NULL;
        }
    }
    else if (outcome != Py_False && !PyTuple_CheckExact(outcome)) {
        return outcome;
    }
    PyObject *call_args[3] = {item, context, outcome};
    PyObject *answer = PyObject_Vectorcall(otherwise, call_args, 3, NULL);
    Py_DECREF(outcome);
    return answer;
}

static PyMethodDef speedups_methods[] = {
    {"has_non_finite", has_non_finite, METH_O,
     "has_non_finite(value, /)\n--\n\nWhether value holds NaN or an infinity (in dicts, lists and tuples, at any depth)."},
    {"send_none", (PyCFunction)(void (*)(void))send_none, METH_FASTCALL,
     "send_none(coro, context=None, /)\n--\n\n(True, value returned) or (False, value yielded): one coro.send(None), in context if given, no StopIteration."},
    {"read_call", read_call, METH_O,
     "read_call(data, /)\n--\n\n(method, id, args, kwargs) of a plain dict holding a call in the common valid shape, else None."},
    {"start_plain", (PyCFunction)(void (*)(void))start_plain, METH_FASTCALL,
     "start_plain(plain, methods, max_name_length, otherwise, item, context, /)\n--\n\nA call's first step on the lazy path: its reply, None, or what otherwise(item, context, outcome) answers."},
    {"has_long_number", has_long_number, METH_O,
     "has_long_number(data, /)\n--\n\nWhether the bytes hold a run of 19 or more ASCII digits."},
    {NULL, NULL, 0, NULL},
};

/* The constants read_call compares with: made once per process (they are immutable, so sub-interpreters may
 * share them), when the module is first executed. */
static int
speedups_exec(PyObject *Py_UNUSED(module))
{
    if (empty_tuple != NULL) {
        return 0;
    }
    key_method = PyUnicode_InternFromString("method");
    key_id = PyUnicode_InternFromString("id");
    key_jsonrpc = PyUnicode_InternFromString("jsonrpc");
    key_params = PyUnicode_InternFromString("params");
    key_result = PyUnicode_InternFromString("result");
    key_meta = PyUnicode_InternFromString("_meta");
    version_2_0 = PyUnicode_InternFromString("2.0");
    empty_tuple = PyTuple_New(0);
    if (!key_method || !key_id || !key_jsonrpc || !key_params || !key_result || !key_meta || !version_2_0 ||
        !empty_tuple) {
        Py_CLEAR(empty_tuple);
        return -1;
    }
    return 0;
}

static struct PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
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
