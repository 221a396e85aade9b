"""Models and tasks from outside the repository, loaded by name in whichever process asks.

A name that is not a built-in one is a reference to a plugin:

- ``path/to/file.py:NAME``: the object ``NAME`` of that Python file. A relative path is read from the working
  directory, or from the folder ``relative_to`` names (a worker that runs with another working directory: a Ray
  task, a SLURM job), so records keep the path as typed, never a path of the machine;
- ``package.module:NAME``: the object ``NAME`` of an importable module (installed, or on ``PYTHONPATH``);
- a plain name an installed package registers under the entry-point group ``seqbench.models`` or
  ``seqbench.tasks`` (``[project.entry-points."seqbench.models"] lru = "my_package.lru:LRU"``).

Nothing is registered at run time: every process resolves the reference itself, so a job pickled to a fresh
worker (forkserver, Ray, SLURM) carries the name alone. The models registry and the tasks registry both load
through here (``models.plugins``, ``tasks.__init__``); what the object must be is theirs to say.

A plugin's ``origin`` (what records store and run keys hash): the reference, its module or file as typed, the
object's name, the sha256 of the module's source file, and the installed package's name and version where it
comes from one. A changed file gives other run keys: its results are never resumed as the old file's.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MODEL_GROUP = "seqbench.models"
TASK_GROUP = "seqbench.tasks"
_ROOT: dict[str, Path | None] = {"root": None}  # where relative plugin files are read from; None: the working dir


class PluginError(ValueError):
    """A plugin that cannot be loaded: one line naming the reference and why."""


@dataclass(frozen=True)
class Loaded:
    obj: object
    origin: dict = field(hash=False)


def is_reference(name: str) -> bool:
    """Whether ``name`` names a plugin by import path or file (``MODULE:NAME``, ``file.py:NAME``)."""
    return ":" in name


def installed(group: str) -> dict[str, importlib.metadata.EntryPoint]:
    """The entry points installed packages register under ``group``, by name."""
    return {ep.name: ep for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda ep: ep.name)}


def canonical(reference: str) -> str:
    """The reference as records store it: a file path relative to the working directory, with ``/``; module
    references and entry-point names unchanged."""
    if not is_reference(reference):
        return reference
    where, _, name = reference.rpartition(":")
    if not where.endswith(".py"):
        return reference
    path = Path(where)
    if path.is_absolute():
        try:
            path = Path(os.path.relpath(path))
        except ValueError:  # another drive (Windows): kept as given
            return reference
    return f"{PurePosixPath(*path.parts)}:{name}"


@contextlib.contextmanager
def relative_to(root: str | Path | None) -> Iterator[None]:
    """Read relative plugin files from ``root`` (an absolute folder: where the command was started) meanwhile."""
    before = _ROOT["root"]
    _ROOT["root"] = Path(root) if root is not None else before
    try:
        yield
    finally:
        _ROOT["root"] = before


def root() -> Path:
    """The absolute folder relative plugin files are read from now."""
    return _ROOT["root"] or Path.cwd()


def load(reference: str, group: str, kind: str) -> Loaded:
    """The object ``reference`` names and its origin; PluginError (one line) when it cannot be loaded."""
    if is_reference(reference):
        where, _, name = reference.rpartition(":")
        if not where or not name.isidentifier():
            raise PluginError(
                f"{kind} '{reference}': expected MODULE:NAME or path/to/file.py:NAME, NAME a Python identifier"
            )
        if where.endswith(".py"):
            return _from_file(reference, where, name, kind)
        return _from_module(reference, where, name, kind)
    entry = installed(group).get(reference)
    if entry is None:
        raise PluginError(f"{kind} '{reference}': no such plugin")
    return _from_entry_point(reference, entry, group, kind)


def _from_file(reference: str, where: str, name: str, kind: str) -> Loaded:
    path = Path(where) if Path(where).is_absolute() else root() / where
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise PluginError(f"{kind} '{reference}': cannot read {where}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(source).hexdigest()
    # One module per file and content: an edited file loads anew, and the module is in sys.modules (dataclasses and
    # pickle look their classes up there).
    module_name = f"_seqbench_plugin_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}_{digest[:12]}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"{kind} '{reference}': {where} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - a SyntaxError, an ImportError, anything the file raises
            del sys.modules[module_name]
            raise PluginError(f"{kind} '{reference}': importing {where} failed: {_why(exc)}") from None
    origin = {"reference": canonical(reference), "file": canonical(reference).rpartition(":")[0], "name": name,
              "sha256": digest}  # fmt: skip
    return Loaded(_attribute(module, name, reference, where, kind), origin)


def _from_module(reference: str, where: str, name: str, kind: str) -> Loaded:
    try:
        module = importlib.import_module(where)
    except BaseException as exc:  # noqa: BLE001 - anything the module raises on import
        raise PluginError(f"{kind} '{reference}': importing {where} failed: {_why(exc)}") from None
    origin = {"reference": reference, "module": where, "name": name, **_source_hash(module)}
    origin.update(_distribution(where.partition(".")[0]))
    return Loaded(_attribute(module, name, reference, where, kind), origin)


def _from_entry_point(reference: str, entry: importlib.metadata.EntryPoint, group: str, kind: str) -> Loaded:
    try:
        obj = entry.load()
    except BaseException as exc:  # noqa: BLE001
        raise PluginError(f"{kind} '{reference}': loading entry point {entry.value} failed: {_why(exc)}") from None
    module = sys.modules.get(entry.module)
    origin = {"reference": reference, "entry_point": f"{group}:{entry.name}", "module": entry.module,
              "name": entry.attr or "", **(_source_hash(module) if module else {})}  # fmt: skip
    if entry.dist is not None:
        origin.update(package=entry.dist.metadata["Name"], version=entry.dist.version)
    return Loaded(obj, origin)


def _attribute(module: object, name: str, reference: str, where: str, kind: str) -> object:
    try:
        return getattr(module, name)
    except AttributeError:
        raise PluginError(f"{kind} '{reference}': {where} has no attribute {name}") from None


def _source_hash(module: object) -> dict:
    """The sha256 of the module's source file, where it has one."""
    path = getattr(module, "__file__", None)
    if not path:
        return {}
    try:
        return {"sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    except OSError:
        return {}


def _distribution(top_level: str) -> dict:
    """The installed package a top-level module comes from, and its version; empty for a loose module."""
    names = importlib.metadata.packages_distributions().get(top_level, [])
    if not names:
        return {}
    try:
        return {"package": names[0], "version": importlib.metadata.version(names[0])}
    except importlib.metadata.PackageNotFoundError:
        return {}


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
