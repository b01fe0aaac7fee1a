"""The learner's object, wherever it lives: in this process, or in a worker (``compare.worker.remote``).

The adapters read and write the learner's arrays only through these few functions, so the same checks
run on an object here (a learner's own pytest) and on one in a worker (``mlp-compare check``): reading
gives the array (a copy, from a worker), writing fills the learner's own array in place, and ``token``
tells whether an attribute still names the same memory (a property returning a fresh view of it does).
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ..worker.remote import RemoteClass, RemoteInstance
from .source import CannotCheck, parse_text, read_source


def is_remote(obj) -> bool:
    return isinstance(obj, (RemoteInstance, RemoteClass))


def class_name_of(obj) -> str:
    """The learner's class's name, for an instance here or in a worker."""
    return obj.class_name if isinstance(obj, RemoteInstance) else type(obj).__name__


def token(value) -> tuple:
    """What identifies an array's memory and layout (or any other object): equal while not rebound."""
    if isinstance(value, np.ndarray):
        return (value.__array_interface__["data"][0], *value.shape, *value.strides)
    return (id(value),)


def read(obj, name: str) -> tuple[Any, tuple]:
    """``(value, token)`` of ``obj.<name>``; here the value is the learner's live array itself."""
    if isinstance(obj, RemoteInstance):
        return obj.fetch(name)
    value = getattr(obj, name)
    return value, token(value)


def read_all(obj, names) -> dict[str, tuple[Any, tuple]]:
    """``read`` for several attributes: one request to a worker."""
    if isinstance(obj, RemoteInstance):
        return obj.fetch_many(list(names))
    return {name: read(obj, name) for name in names}


def write_all(obj, values: dict[str, np.ndarray]) -> None:
    """``write`` for several attributes: one request to a worker."""
    if isinstance(obj, RemoteInstance):
        obj.write_many(values)
    else:
        for name, value in values.items():
            write(obj, name, value)


def write(obj, name: str, value: np.ndarray) -> None:
    """``obj.<name>[...] = value``: into the learner's own array, wherever it lives."""
    if isinstance(obj, RemoteInstance):
        obj.write(name, value)
    else:
        getattr(obj, name)[...] = value


def attribute_names(obj) -> dict[str, tuple | None]:
    """``{name: shape or None}`` of the object's public data attributes, for a message listing what it has."""
    if isinstance(obj, RemoteInstance):
        return {n: tuple(a["shape"]) if "shape" in a else None for n, a in obj.attributes.items()
                if not n.startswith("_")}
    if not hasattr(obj, "__dict__"):
        return {}
    return {n: (tuple(v.shape) if isinstance(v, np.ndarray) else None) for n, v in vars(obj).items()
            if not n.startswith("_")}


def method_source(file: str | None, class_name: str, method: str) -> ast.FunctionDef | None:
    """The AST of ``class_name.method`` in ``file``, read as text (never run): for the names it returns."""
    if file is None:
        return None
    try:
        tree = parse_text(read_source(file).text)
    except (CannotCheck, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    return item
    return None
