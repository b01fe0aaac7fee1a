"""A learner's class and instances as the checker sees them when they live in a worker.

``RemoteClass`` and ``RemoteInstance`` stand where the learner's class and objects would stand in
process: reading an attribute fetches a copy of its value, calling a method sends the arrays and gets
arrays back, ``setattr`` rebinds the attribute there, ``write`` fills the learner's own array in place,
``deepcopy`` copies the instance there. Their methods carry their signatures (``inspect.signature`` reads
them), and ``class_name`` is the learner's class's name. Nothing the worker sends is ever run here.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np

from .client import TheirError, Worker
from .serve import ProtocolError, decode, encode

MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, ProtocolError, RecursionError)


def _name(text) -> str:
    """A class or method name from the worker, as plain identifier characters (at most 80)."""
    cleaned = "".join(c for c in str(text)[:80] if c.isalnum() or c == "_")
    return cleaned or "unnamed"


def _signature(params: list | None) -> inspect.Signature | None:
    """The signature the worker described, or None when it described none (or nothing that can be one)."""
    if params is None:
        return None
    empty = inspect.Parameter.empty
    try:
        return inspect.Signature([inspect.Parameter(_name(name), inspect._ParameterKind(int(kind)),
                                                    default=None if has else empty) for name, kind, has in params])
    except MALFORMED:
        return None


class RemoteMethod:
    """``instance.method(*args)`` in the worker; its ``__signature__`` is the learner's."""

    def __init__(self, instance: RemoteInstance, name: str, params: list | None):
        self.instance, self.__name__ = instance, name
        sig = _signature(params)
        if sig is not None:
            self.__signature__ = sig

    def __call__(self, *args) -> Any:
        arrays: list = []
        trees = [encode(a, arrays) for a in args]
        worker = self.instance.worker
        head, out = worker.request({"op": "call", "handle": self.instance.handle, "method": self.__name__,
                                    "args": trees}, arrays)
        try:
            return decode(head["result"], out)
        except MALFORMED as e:
            raise worker.garbage(f"{type(e).__name__} in a {self.__name__} result") from None


class RemoteInstance:
    """One of the learner's objects in the worker (see the module's docstring)."""

    METHODS = ("forward", "backward", "state_dict", "load_state_dict", "loss", "gradients", "predict")

    def __init__(self, worker: Worker, handle: int):
        object.__setattr__(self, "worker", worker)
        object.__setattr__(self, "handle", handle)
        head, _ = worker.request({"op": "describe", "handle": handle, "methods": list(self.METHODS)})
        if not (isinstance(head.get("attributes"), dict) and isinstance(head.get("methods"), dict)
                and isinstance(head.get("public_methods"), list)):
            raise worker.garbage("a description without its attributes and methods")
        head["class"] = _name(head.get("class"))
        object.__setattr__(self, "description", head)

    @property
    def class_name(self) -> str:
        return str(self.description["class"])

    @property
    def attributes(self) -> dict:
        return self.description["attributes"]

    def __getattr__(self, name: str):
        methods = self.description["methods"]
        if name in methods:
            return RemoteMethod(self, name, methods[name])
        if name not in self.attributes:
            raise AttributeError(f"{self.class_name} has no attribute {name!r}")
        return self.fetch(name)[0]

    def fetch(self, name: str):
        """``(value, token)``: a copy of the attribute and a token that changes when it is rebound."""
        return self.fetch_many([name])[name]

    def fetch_many(self, names: list[str]) -> dict:
        """``{name: (value, token)}`` for several attributes, in one request."""
        head, out = self.worker.request({"op": "get", "handle": self.handle, "names": list(names)})
        try:
            values = {n: (decode(tree, out), tuple(tok)) for n, tree, tok in zip(names, head["values"], head["tokens"])}
        except MALFORMED as e:
            raise self.worker.garbage(f"{type(e).__name__} in the values of {', '.join(names)}") from None
        if len(values) != len(names):
            raise self.worker.garbage("fewer values than were asked for")
        return values

    def __setattr__(self, name: str, value) -> None:
        try:
            self.worker.request({"op": "set", "handle": self.handle, "names": [name], "assign": True},
                                [np.asarray(value)])
        except TheirError as e:
            if e.type == "AttributeError":
                raise AttributeError(e.message) from None
            raise

    def write(self, name: str, value: np.ndarray) -> None:
        """``obj.<name>[...] = value`` in the worker: into the learner's own array."""
        self.write_many({name: value})

    def write_many(self, values: dict) -> None:
        """``write`` for several attributes, in one request."""
        self.worker.request({"op": "set", "handle": self.handle, "names": list(values)},
                            [np.asarray(v) for v in values.values()])

    def __deepcopy__(self, memo) -> RemoteInstance:
        head, _ = self.worker.request({"op": "copy", "handle": self.handle})
        if not isinstance(head.get("handle"), int):
            raise self.worker.garbage("a copy without a handle")
        return RemoteInstance(self.worker, head["handle"])


class RemoteClass:
    """The learner's class in the worker: calling it builds an instance there."""

    def __init__(self, worker: Worker, name: str, signature: list | None, file: str):
        self.worker, self.__name__, self.file = worker, name, file
        sig = _signature(signature)
        if sig is not None:
            self.__signature__ = sig

    def __call__(self, *args, **kwargs) -> RemoteInstance:
        head, _ = self.worker.request({"op": "new", "args": list(args), "kwargs": kwargs})
        if not isinstance(head.get("handle"), int):
            raise self.worker.garbage("a new instance without a handle")
        return RemoteInstance(self.worker, head["handle"])


def load_class(worker: Worker, file: Path, name: str | None, inside: str | None = None,
               package: str | None = None) -> tuple[RemoteClass | None, dict]:
    """Load ``file`` (copied into the worker's folder; ``inside`` is its path there, ``package`` its dotted
    name when it lives in a package) and find its class: ``(class or None, what the worker found)``
    (``classes`` with forward and backward, every class ``defined``, what ``named`` is). ``TheirError``
    when the file raises while it loads."""
    head, _ = worker.request({"op": "load", "folder": "submission", "file": inside or file.name, "class": name,
                              "package": package})
    try:
        found: dict[str, Any] = {"classes": [_name(c) for c in head["classes"]][:64],
                                 "defined": [_name(c) for c in head["defined"]][:64], "named": _name(head["named"]),
                                 "signature": head.get("signature")}
    except MALFORMED as e:
        raise worker.garbage(f"{type(e).__name__} in what loading found") from None
    if len(found["classes"]) != 1:
        return None, found
    return RemoteClass(worker, found["classes"][0], found["signature"], str(file)), found
