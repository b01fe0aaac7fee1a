"""The worker: a learner's class in a process of its own, answering requests with arrays and bounded text.

Run as ``python -I serve.py`` (isolated mode: no user site-packages, no ``PYTHON*`` variables, neither the
current folder nor this script's folder on ``sys.path``) in a private folder holding a copy of one
submission. It imports numpy, then the learner's file, and no part of ``compare``: the checker, in
another process, makes every verdict. Nothing crosses but data: a length-prefixed JSON header and arrays
in NumPy's ``.npy`` format, read with ``allow_pickle=False``; every size is bounded before it is read.

Requests (``op``): ``load`` a file and find its class; ``new`` an instance; ``describe`` one; ``get`` and
``set`` its arrays; ``call`` a method with arrays; ``copy`` or ``drop`` an instance. What the learner's code
prints goes to standard error (the checker keeps a bounded tail); replies go to a private copy of the
original standard output, so a ``print`` cannot break the protocol.

Standalone on purpose: this file imports the standard library and numpy only, so the checker can import
its framing functions and the worker can run it by path without the rest of the package. That is also why
it is one module past the 300 lines of the house's rule: run with ``-I``, it cannot import a sibling.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import io
import json
import os
import struct
import sys
import traceback

import numpy as np

MAX_HEADER = 1 << 20       # bytes of JSON in one message
MAX_ARRAY = 1 << 27        # bytes of one .npy array (128 MiB: a 60,000 x 784 float32 batch is 188 MB in float64)
MAX_ARRAYS = 64            # arrays in one message
MAX_TEXT = 2000            # characters of any text from the learner's side (messages, reprs)
LEN = struct.Struct(">Q")


class ProtocolError(Exception):
    """A message that breaks the framing or a bound: the other side is not to be trusted any further."""


def _read_exact(stream, n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError(f"the stream ended after {0 if data is None else len(data)} of {n} bytes")
    return data


def _length(stream, bound: int, what: str) -> int:
    n = LEN.unpack(_read_exact(stream, LEN.size))[0]
    if n > bound:
        raise ProtocolError(f"{what} of {n} bytes is over the bound of {bound}")
    return n


def read_message(stream, max_array: int = MAX_ARRAY, max_total: int | None = None) -> tuple[dict, list[np.ndarray]]:
    """One message: ``(header, arrays)``. ``EOFError`` at a clean end; ``ProtocolError`` when it breaks a bound
    (``max_total``: bytes of the whole message)."""
    try:
        header = json.loads(_read_exact(stream, _length(stream, MAX_HEADER, "a header")).decode("utf-8"))
    except (ValueError, RecursionError) as e:   # not JSON, not UTF-8, or nested past any sense
        raise ProtocolError(f"a header that is not JSON ({type(e).__name__})") from None
    total = 0
    if not isinstance(header, dict):
        raise ProtocolError(f"a header must be a JSON object, got {type(header).__name__}")
    count = header.get("n_arrays", 0)
    if not isinstance(count, int) or not 0 <= count <= MAX_ARRAYS:
        raise ProtocolError(f"n_arrays must be 0..{MAX_ARRAYS}, got {count!r}")
    arrays = []
    for _ in range(count):
        n = _length(stream, max_array, "an array")
        total += n
        if max_total is not None and total > max_total:
            raise ProtocolError(f"a message of over {max_total} bytes is over the bound")
        raw = _read_exact(stream, n)
        try:
            arrays.append(np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False))
        except Exception as e:  # bad magic, a pickled object array, a truncated body
            raise ProtocolError(f"an array could not be read: {type(e).__name__}: {e}") from None
    return header, arrays


def write_message(stream, header: dict, arrays: list | tuple = ()) -> None:
    body = json.dumps({**header, "n_arrays": len(arrays)}, allow_nan=False).encode("utf-8")
    parts = [LEN.pack(len(body)), body]
    for a in arrays:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
        parts += [LEN.pack(buf.tell()), buf.getvalue()]
    stream.write(b"".join(parts))
    stream.flush()


def short(text: str) -> str:
    """One line of at most ``MAX_TEXT`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def encode(value, arrays: list) -> dict:
    """A JSON tree for ``value``; its arrays (numeric, not object) go to ``arrays``, referenced by index.

    Arrays, tuples, lists, dicts with string keys, numbers and None keep what they are; anything else
    crosses as its type's name (and shape), never as the object.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            arrays.append(value)
            return {"array": len(arrays) - 1}
        return {"object_array": short(value.dtype.str), "shape": list(value.shape)}
    if type(value) in (tuple, list) and len(value) <= MAX_ARRAYS:
        return {type(value).__name__: [encode(v, arrays) for v in value]}
    if type(value) is dict and len(value) <= MAX_ARRAYS and all(isinstance(k, str) for k in value):
        return {"dict": [[short(k), encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, (bool, int, float, np.number)) and not isinstance(value, np.ndarray):
        arrays.append(np.asarray(value))
        return {"array": len(arrays) - 1, "scalar": type(value).__name__}
    if value is None:
        return {"none": True}
    shape = getattr(value, "shape", None)
    return {"object": short(type(value).__name__), "module": short(type(value).__module__),
            "shape": [int(n) for n in shape] if isinstance(shape, tuple) and len(shape) < 8 else None}


class Opaque:
    """What stands, on the receiving side, for an object that did not cross (its type's name only)."""

    module = ""


def decode(tree, arrays: list):
    """The value ``encode`` described: arrays, tuples, lists, dicts, numbers, None, or an ``Opaque``
    stand-in whose class carries the original type's name (so a message can say "a Tensor")."""
    if not isinstance(tree, dict) or len(tree) == 0:
        raise ProtocolError(f"not a value: {short(repr(tree))}")
    if "array" in tree:
        a = arrays[int(tree["array"])]
        kind = tree.get("scalar")
        if kind is None:
            return a
        return a.item() if kind in ("int", "float", "bool") else a[()]
    for kind in ("tuple", "list"):
        if kind in tree:
            items = [decode(v, arrays) for v in tree[kind]]
            return tuple(items) if kind == "tuple" else items
    if "dict" in tree:
        return {str(k): decode(v, arrays) for k, v in tree["dict"]}
    if "none" in tree:
        return None
    if "object_array" in tree:
        shape = tuple(int(n) for n in tree.get("shape") or ())
        return np.empty(shape if np.prod(shape, dtype=float) <= 1e6 else (0,), dtype=object)
    stand_in = type(short(tree.get("object", "object")).replace(" ", "_") or "object", (Opaque,),
                    {"module": short(tree.get("module", ""))})
    value = stand_in()
    value.shape = tuple(tree["shape"]) if tree.get("shape") is not None else None
    return value


def _where(error: BaseException, file: str) -> str:
    """``name:line`` of the last frame of ``error`` in the learner's ``file``, else the last frame outside numpy."""
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if os.path.realpath(f.filename) == os.path.realpath(file)]
    if mine:
        return f"{os.path.basename(file)}:{mine[-1].lineno}"
    return ""


class Server:
    """The learner's module, class and instances, and one method per request."""

    def __init__(self) -> None:
        self.file = ""
        self.cls: type | None = None
        self.objects: dict[int, object] = {}
        self.next_id = 1
        self.module_name = ""

    def op_load(self, req: dict, inp: list, out: list) -> dict:
        folder = req["folder"]
        self.file = os.path.join(folder, req["file"])
        name = req.get("package")
        # After the standard library and site-packages, so nothing of theirs shadows numpy: the top of their
        # package, or the file's own folder, where its helper modules are.
        sys.path.append(folder if name else os.path.dirname(self.file))
        if name:   # a file inside a package of theirs: imported by its dotted name, its relative imports work
            module = importlib.import_module(name)
        else:
            name = "learner_submission"
            spec = importlib.util.spec_from_file_location(name, self.file)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {req['file']} as a module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        self.module_name = name
        defined = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == name]
        found: list = [c for c in defined if callable(getattr(c, "forward", None))
                       and callable(getattr(c, "backward", None))]
        wanted = req.get("class")
        named = "absent"
        if wanted is not None:
            value = getattr(module, wanted, None)
            named = "class" if inspect.isclass(value) else "absent" if value is None else short(type(value).__name__)
            found = [value] if named == "class" else []
        if len(found) == 1:
            self.cls = found[0]
        return {"classes": [short(c.__name__) for c in found], "defined": [short(c.__name__) for c in defined][:64],
                "named": named, "signature": self._signature(self.cls)}

    @staticmethod
    def _signature(fn) -> list | None:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return None
        return [[p.name, int(p.kind), p.default is not inspect.Parameter.empty] for p in sig.parameters.values()]

    def op_new(self, req: dict, inp: list, out: list) -> dict:
        if self.cls is None:
            raise ProtocolError("no class is loaded")
        obj = self.cls(*req.get("args", []), **req.get("kwargs", {}))
        return self._keep(obj)

    def _keep(self, obj) -> dict:
        self.objects[self.next_id] = obj
        self.next_id += 1
        return {"handle": self.next_id - 1}

    def op_copy(self, req: dict, inp: list, out: list) -> dict:
        return self._keep(copy.deepcopy(self.objects[req["handle"]]))

    def op_drop(self, req: dict, inp: list, out: list) -> dict:
        self.objects.pop(req["handle"], None)
        return {}

    def op_describe(self, req: dict, inp: list, out: list) -> dict:
        """Every attribute of the instance (its own and the class's properties) and the methods' signatures."""
        obj = self.objects[req["handle"]]
        attrs: dict[str, dict] = {}
        names = list(vars(obj)) if hasattr(obj, "__dict__") else []
        names += [n for n, v in inspect.getmembers(type(obj)) if isinstance(v, property) and n not in names]
        for n in names[:MAX_ARRAYS * 4]:
            prop = getattr(type(obj), n, None)
            try:
                v = getattr(obj, n)
            except Exception as e:
                attrs[n] = {"error": short(f"{type(e).__name__}: {e}")}
                continue
            attrs[n] = {"type": short(type(v).__name__), "settable": not isinstance(prop, property) or
                        prop.fset is not None}
            if isinstance(v, np.ndarray):
                attrs[n].update(shape=list(v.shape), dtype=v.dtype.str, kind=v.dtype.kind)
        methods = {m: self._signature(getattr(obj, m)) for m in req.get("methods", [])
                   if callable(getattr(obj, m, None))}
        defined_in = {m: short(getattr(getattr(type(obj), m, None), "__module__", None) or "")
                      for m in ("forward", "backward")}
        public = [n for n, v in inspect.getmembers(type(obj), callable) if not n.startswith("_")]
        return {"class": type(obj).__name__, "attributes": attrs, "methods": methods, "public_methods": public,
                "defined_in": defined_in, "module": self.module_name}

    def op_get(self, req: dict, inp: list, out: list) -> dict:
        """The named attributes (arrays as copies), with a token per value that changes when it is rebound."""
        obj = self.objects[req["handle"]]
        values = [getattr(obj, n) for n in req["names"]]
        tokens = [[v.__array_interface__["data"][0], *v.shape, *v.strides] if isinstance(v, np.ndarray) else [id(v)]
                  for v in values]
        return {"values": [encode(np.array(v, copy=True) if isinstance(v, np.ndarray) else v, out) for v in values],
                "tokens": tokens}

    def op_set(self, req: dict, inp: list, out: list) -> dict:
        """Write arrays into the instance's own arrays, in place; ``assign`` sets the attribute instead."""
        obj = self.objects[req["handle"]]
        for n, a in zip(req["names"], inp):
            if req.get("assign"):
                setattr(obj, n, a)
            else:
                getattr(obj, n)[...] = a
        return {}

    def op_call(self, req: dict, inp: list, out: list) -> dict:
        obj = self.objects[req["handle"]]
        args = [decode(a, inp) for a in req.get("args", [])]
        result = getattr(obj, req["method"])(*args)
        return {"result": encode(result, out)}


def serve(instream, outstream) -> None:
    server = Server()
    while True:
        try:
            req, arrays = read_message(instream)
        except EOFError:
            return
        op = getattr(server, f"op_{req.get('op')}", None)
        reply_arrays: list = []
        try:
            if op is None:
                raise ProtocolError(f"unknown request {req.get('op')!r}")
            reply = op(req, arrays, reply_arrays)
        except (Exception, SystemExit) as e:   # their code's fault, as data: type, message, where
            reply = {"error": {"type": type(e).__name__, "message": short(str(e)),
                               "where": _where(e, server.file) if server.file else "",
                               "code": e.code if isinstance(e, SystemExit) and isinstance(e.code, int) else None,
                               "import": isinstance(e, ImportError),
                               "syntax": [short(e.msg), e.lineno] if isinstance(e, SyntaxError) else None}}
            reply_arrays = []
        _mark_output()
        write_message(outstream, reply, reply_arrays)


# Written to the output stream before each reply: everything printed before it was printed before the reply,
# so the checker can show the output of a request once the reply has come, not a tail still in the pipe.
SYNC = b"\x00mlp-compare:replied\x00"


def _mark_output() -> None:
    try:
        sys.stderr.flush()
        os.write(2, SYNC)
    except (OSError, ValueError):   # their code closed or replaced the stream: nothing to wait for
        pass


def _undumpable() -> None:
    """Linux: no other process of the same user may open this one's files under /proc or trace it."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(4, 0)   # PR_SET_DUMPABLE, 0


def main() -> None:
    _undumpable()
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())   # the learner's prints go to stderr, never to replies
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
