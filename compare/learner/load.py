"""Load a learner's class from ``PATH.py[:NAME]``, ``PATH.ipynb[:NAME]`` or ``MODULE[:NAME]``.

In a worker (``prepare`` then ``load_in_worker``): the file's class and the definitions it uses run there,
not its script code (``definitions``; ``run_file`` runs it all), beside the helper modules the file
imports from its own folder, after the standard library and site-packages on ``sys.path``. In this
process (``load_target``, for a module name or the Python API) the file runs as pytest runs a test file:
its folder first on ``sys.path``. Without ``NAME`` the file's one class with ``forward`` and ``backward``
is taken; with several, the error lists them. Everything that goes wrong here is one line naming the
file (and line, or notebook cell) or the class: ``CannotCheck``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .blame import CannotCheck, locate, shown
from .definitions import definitions
from .source import LearnerSource, read_source

MODULE_PREFIX = "mlp_compare_learner_"  # their module's name in sys.modules: never shadows a real package
HELPERS, HELPER_CHARS = 64, 1 << 20      # .py files beside a checked file that its worker gets, bytes each at most
LEARNER_SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class Target:
    """The learner's class and where it came from (``file`` is None for a class without a source file)."""

    cls: type
    file: str | None
    not_run: str = ""   # what of the file was not run, one line ("" when all of it ran)

    @property
    def where(self) -> str:
        return shown(self.file) if self.file else self.cls.__module__


def split_target(text: str) -> tuple[str, str | None]:
    """``"my_mlp.py:NeuralNetMLP"`` -> ``("my_mlp.py", "NeuralNetMLP")``; no ``:NAME`` -> ``(text, None)``."""
    source, sep, name = text.rpartition(":")
    if sep and source and name.isidentifier():
        return source, name
    return text, None


def is_path(source: str) -> bool:
    return source.endswith(LEARNER_SUFFIXES) or "/" in source or "\\" in source or Path(source).is_file()


def load_module(source: str):
    """Import ``source`` (a path or a dotted module name); returns ``(module, file or None)``."""
    if is_path(source):
        return _load_file(Path(source))
    if not all(part.isidentifier() for part in source.split(".")):
        raise CannotCheck(f"{source}: expected a Python file (my_mlp.py) or an importable module name "
                          f"(my_package.my_mlp)")
    try:
        module = importlib.import_module(source)
    except ModuleNotFoundError as e:
        if e.name and source.startswith(e.name):  # the module itself, not an import inside it
            raise CannotCheck(f"no module named {source!r}; pass the path of your .py file or a module "
                              f"importable from here") from None
        raise CannotCheck(_import_failed(e, None, source)) from None
    except SyntaxError as e:
        raise CannotCheck(_syntax(e)) from None
    except (Exception, SystemExit) as e:  # their module's own code raised (or called sys.exit) on import
        raise CannotCheck(_import_failed(e, None, source)) from None
    return module, getattr(module, "__file__", None)


def _load_file(path: Path):
    if not path.is_file():
        raise CannotCheck(f"{path}: no such file; pass the path of the .py file that holds your class")
    if path.suffix != ".py":
        raise CannotCheck(f"{path}: expected a Python file ending in .py")
    path = path.resolve()
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").is_file():  # inside a package: import it by its dotted name, as pytest does
        parts.insert(0, folder.name)
        folder = folder.parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    if len(parts) > 1:
        return _load_package_file(path, ".".join(parts))
    name = MODULE_PREFIX + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a .py file always has a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # inspect.getsource and dataclasses find the module here
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        del sys.modules[name]
        raise CannotCheck(_syntax(e)) from None
    except (Exception, SystemExit) as e:  # an import inside their file, any top-level code, sys.exit
        del sys.modules[name]
        raise CannotCheck(_import_failed(e, str(path), shown(path))) from None
    return module, str(path)


def _load_package_file(path: Path, dotted: str):
    try:
        module = importlib.import_module(dotted)
    except SyntaxError as e:
        raise CannotCheck(_syntax(e)) from None
    except (Exception, SystemExit) as e:  # an import inside their file, any top-level code, sys.exit
        raise CannotCheck(_import_failed(e, str(path), shown(path))) from None
    loaded = Path(getattr(module, "__file__", "") or "").resolve()
    if loaded != path:
        raise CannotCheck(f"{shown(path)}: the module {dotted} is already imported from {shown(loaded)}; run the "
                          f"check from the folder that holds this copy")
    return module, str(path)


def _syntax(e: SyntaxError) -> str:
    where = f"{shown(e.filename)}:{e.lineno}" if e.filename else "your file"
    return f"{where}: {type(e).__name__}: {e.msg}; fix it, then check again"


def _import_failed(e: BaseException, file: str | None, what: str) -> str:
    where = locate(e, file) or what
    text = " ".join(str(e).split())
    verb = "an import failed" if isinstance(e, ImportError) else "running it raised"
    return f"{where}: loading {what}: {verb}: {type(e).__name__}: {text}"


def candidates(module) -> list[type]:
    """The classes defined in ``module`` (not imported into it) that have ``forward`` and ``backward``."""
    return [obj for obj in vars(module).values()
            if inspect.isclass(obj) and obj.__module__ == module.__name__
            and callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))]


def load_target(text: str) -> Target:
    """The class named by ``PATH.py[:NAME]`` or ``MODULE[:NAME]``."""
    source, name = split_target(text)
    module, file = load_module(source)
    where = shown(file) if file else source
    if name is not None:
        cls = getattr(module, name, None)
        if cls is None:
            listed = ", ".join(c.__name__ for c in candidates(module)) or "no class with forward and backward"
            raise CannotCheck(f"{where} has no {name!r}; found: {listed}")
        if not inspect.isclass(cls):
            raise CannotCheck(f"{where}:{name} is a {type(cls).__name__}, expected a class (or pass an instance "
                              f"to compare.check_backprop)")
        return Target(cls, _source_file(cls) or file)
    found = candidates(module)
    if not found:
        classes = [o.__name__ for o in vars(module).values() if inspect.isclass(o) and o.__module__ == module.__name__]
        listed = f"classes found: {', '.join(classes)}" if classes else "it defines no class"
        raise CannotCheck(f"{where}: no class with both forward and backward methods ({listed}); expected the "
                          f"book's NeuralNetMLP, or name the class: {source}:NAME")
    if len(found) > 1:
        names = ", ".join(c.__name__ for c in found)
        raise CannotCheck(f"{where} holds several classes with forward and backward ({names}); "
                          f"pick one: {source}:{found[0].__name__}")
    return Target(found[0], file)


def _source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except TypeError:  # a built-in or a class made at run time
        return None


def package_of(path: Path) -> tuple[Path, list[str]]:
    """``(the folder above its top package, dotted parts)`` for a file; parts is just its stem outside a package."""
    path = path.resolve()
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, parts


@dataclass(frozen=True)
class Prepared:
    """A learner's submission as its worker gets it (``compare.worker.client.Worker(submission, texts=...)``)."""

    submission: Path          # copied whole into the worker: the file, or the folder that holds it
    texts: dict[str, str | bytes]   # written into that copy: the file as it runs there, its helper modules
    inside: str               # the module's path in the copy
    package: str | None       # its dotted name, when it lives in a package of theirs
    name: str | None          # the class asked for (``PATH:NAME``)
    learner: LearnerSource
    not_run: str              # what of the file is not run, one line ("" when all of it runs)


def prepare(text: str, *, run_file: bool = False, folder: Path | None = None, alone: bool = False) -> Prepared:
    """``PATH[:NAME]`` ready for a worker. ``folder``: one learner's folder of files (``check DIR``), copied
    whole, the file inside it. Otherwise a file in a package of theirs brings its package, and any other file
    the ``.py`` files beside it, its helper modules (not when ``alone``: a file at the top of a class folder
    sees only itself)."""
    source, name = split_target(text)
    path = Path(source)
    if not path.is_file():
        raise CannotCheck(f"{path}: no such file; pass the path of the .py file or notebook that holds your class")
    if path.suffix not in LEARNER_SUFFIXES:
        raise CannotCheck(f"{path}: expected a Python file ending in .py or a notebook ending in .ipynb")
    learner = read_source(path)
    root, parts = package_of(path)
    in_package = len(parts) > 1 and path.suffix == ".py" and not alone and folder is None
    found = None if run_file else definitions(learner, name, in_package)
    not_run = found.summary() if found is not None else ""
    if path.suffix == ".ipynb":   # a notebook runs as its joined code
        module, runs = path.name + ".py", (learner.text if found is None else found.source).encode("utf-8")
    else:   # in the file's own encoding, which its coding line (or byte-order mark) still names
        module, runs = path.name, found.source.encode(learner.encoding) if found is not None else path.read_bytes()
    if folder is not None:
        try:
            inside = (Path(folder.name) / path.relative_to(folder).with_name(module)).as_posix()
        except ValueError:
            raise CannotCheck(f"{shown(path)} is not inside {shown(folder)}: a learner's folder is checked with "
                              f"its own files only") from None
        return Prepared(folder, {inside: runs}, inside, None, name, learner, not_run)
    if in_package:
        inside = "/".join([*parts[:-1], path.name])
        return Prepared(root / parts[0], {inside: runs}, inside, ".".join(parts), name, learner, not_run)
    return Prepared(path, {**({} if alone else _helpers(path)), module: runs}, module, None, name, learner, not_run)


def _helpers(path: Path) -> dict[str, str | bytes]:
    """The ``.py`` files beside ``path`` (``from utils import sigmoid``), as text; none that are huge or unreadable."""
    texts: dict[str, str | bytes] = {}
    helpers = [h for h in sorted(path.parent.glob("*.py")) if h.name not in (path.name, "__init__.py")
               and not h.name.startswith(".") and h.is_file()]
    for helper in helpers[:HELPERS]:
        try:
            if helper.stat().st_size <= HELPER_CHARS:
                texts[helper.name] = helper.read_bytes()
        except OSError:
            continue
    return texts


def load_in_worker(worker, prepared: Prepared) -> Target:
    """The class ``prepared`` names, loaded in ``worker`` (a started ``compare.worker.client.Worker`` made from
    it): a ``Target`` whose ``cls`` is a ``RemoteClass``. The same one-line ``CannotCheck`` as
    ``load_target`` for everything that keeps the file from loading."""
    from ..worker.client import TheirError
    from ..worker.remote import load_class

    learner, name = prepared.learner, prepared.name
    path = Path(learner.path)
    where = shown(path)
    try:
        cls, found = load_class(worker, path, name, prepared.inside, prepared.package)
    except TheirError as e:
        if e.syntax is not None:
            raise CannotCheck(f"{learner.at(e.syntax[1])}: {e.type}: {e.syntax[0]}; fix it, then check again") \
                from None
        line = e.where.rpartition(":")[2]
        verb = "an import failed" if e.is_import else "running it raised"
        # A sys.path line or a name the skipped script code would have made: say what was not run.
        hint = f"; {prepared.not_run}" if prepared.not_run and (e.is_import or e.type == "NameError") else ""
        raise CannotCheck(f"{learner.at(line)}: loading {where}: {verb}: {e.type}: {e.message}{hint}") from None
    if cls is not None:
        return Target(cls, str(path), prepared.not_run)  # type: ignore[arg-type]  # a RemoteClass stands for it
    classes = found["classes"]
    if name is not None:
        if found["named"] == "absent":
            listed = ", ".join(found["classes"]) or "no class with forward and backward"
            raise CannotCheck(f"{where} has no {name!r}; found: {listed}")
        raise CannotCheck(f"{where}:{name} is a {found['named']}, expected a class (or pass an instance to "
                          f"compare.check_backprop)")
    if not classes:
        defined = found["defined"]
        listed = f"classes found: {', '.join(defined)}" if defined else "it defines no class"
        raise CannotCheck(f"{where}: no class with both forward and backward methods ({listed}); expected the "
                          f"book's NeuralNetMLP, or name the class: {path}:NAME")
    raise CannotCheck(f"{where} holds several classes with forward and backward ({', '.join(classes)}); "
                      f"pick one: {path}:{classes[0]}")
