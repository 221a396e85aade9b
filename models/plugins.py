"""Model families from outside the repository: ``file.py:NAME``, ``MODULE:NAME`` or an installed entry point of the
group ``seqbench.models`` (``tasks.plugins`` loads them; docs/extending.md).

The object a reference names is either

- a ``models.Family`` (what ``MODELS`` holds: options, backbone, width multiple, description, traits, hooks), or
- a backbone class, built as ``cls(width, options)``, that declares what a ``Family`` holds as class attributes:
  ``Options`` (a frozen dataclass whose fields all have defaults; default: no options), ``traits`` (words of
  ``models.base.TRAITS``), ``description`` (default: the first line of its docstring), ``width_multiple`` (an
  int, or a function of the options; default 1), and optionally ``packable`` and ``check_spec(spec, options)``.

Either way the family meets the contract the built-ins meet (``python -m bench check NAME``), and it is asked
through the same functions (``build_model``, ``model_traits``, ...), never by name.
"""

from __future__ import annotations

import dataclasses
import functools

import models
from models.base import TRAITS
from tasks.plugins import MODEL_GROUP, Loaded, PluginError, installed, is_reference, load

OPTION_TYPES = (bool, int, float, str)  # what parse_options and the command line can give


def is_plugin(name: str) -> bool:
    """Whether ``name`` names a plugin family (a reference, or an installed entry point), not a built-in."""
    return name not in models.MODELS and (is_reference(name) or name in installed(MODEL_GROUP))


def plugin_names() -> list[str]:
    """The families installed packages add (entry points), those shadowed by a built-in name left out."""
    return [name for name in installed(MODEL_GROUP) if name not in models.MODELS]


def family(name: str) -> models.Family:
    """The plugin's family; PluginError (a ValueError of one line, naming the check) when it cannot serve."""
    loaded = load(name, MODEL_GROUP, "model")
    return _as_family(name, loaded.origin.get("sha256"), loaded)


def origin(name: str) -> dict | None:
    """What records store of where a plugin family comes from (``tasks.plugins``); None for a built-in family."""
    if name in models.MODELS:
        return None
    return load(name, MODEL_GROUP, "model").origin


@functools.lru_cache(maxsize=64)
def _as_family(name: str, digest: str | None, loaded: Loaded) -> models.Family:
    obj = loaded.obj
    if isinstance(obj, models.Family):
        result = obj
    elif isinstance(obj, type):
        result = _from_class(name, obj)
    else:
        raise PluginError(
            f"model '{name}' fails check loads: {type(obj).__name__} is neither a models.Family nor a backbone class"
        )
    _check_family(name, result)
    return result


def _from_class(name: str, cls: type) -> models.Family:
    options = getattr(cls, "Options", None) or _NoOptions
    multiple = getattr(cls, "width_multiple", 1)
    width_multiple = multiple if callable(multiple) else (lambda _options, m=multiple: m)
    doc = (cls.__doc__ or "").strip().splitlines()
    extra = {key: getattr(cls, key) for key in ("packable", "check_spec") if hasattr(cls, key)}
    return models.Family(
        options=options,
        backbone=cls,
        width_multiple=width_multiple,
        description=getattr(cls, "description", doc[0] if doc else name),
        traits=frozenset(getattr(cls, "traits", ())),
        default=False,
        **extra,
    )


@dataclasses.dataclass(frozen=True)
class _NoOptions:
    """A family without options."""


def _check_family(name: str, family: models.Family) -> None:
    """What ``loads`` checks: options a frozen dataclass of defaults the command line can give, known traits."""

    def fail(why: str) -> None:
        raise PluginError(f"model '{name}' fails check loads: {why}")

    options = family.options
    if not (dataclasses.is_dataclass(options) and isinstance(options, type)):
        fail(f"Options must be a frozen dataclass, got {options!r}")
    if not options.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        fail(f"Options {options.__name__} must be frozen (@dataclass(frozen=True)): options are part of a run key")
    for f in dataclasses.fields(options):
        if f.default is dataclasses.MISSING or type(f.default) not in OPTION_TYPES:
            fail(f"option {f.name} needs a default of type bool, int, float or str (got {f.default!r})")
    if isinstance(family.traits, str) or not all(isinstance(t, str) for t in family.traits):
        fail(f"traits must be a set of words, got {family.traits!r}")
    unknown = sorted(set(family.traits) - set(TRAITS))
    if unknown:
        fail(f"unknown trait {', '.join(unknown)}; choose from: {', '.join(TRAITS)}")
    if not callable(family.backbone) or not isinstance(family.description, str) or not family.description:
        fail("a family needs a backbone (width, options) -> nn.Module and a description")
