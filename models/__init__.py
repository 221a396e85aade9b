"""Model registry: ``build_model(name, spec, width=..., target_params=..., **options)``.

Every family is built around the same encoder and head (``models.base``). Given a
parameter target instead of a width, the width is solved so the trainable parameter
count lands as close to the target as the family's width granularity allows, and
must be within ``PARAM_TOLERANCE`` of it.

A family declares its traits (``models.base.TRAITS``) and may offer hooks: the backbone's
``core_layer`` and the options' ``traits`` and ``check_length``. Code outside ``models/``
asks through ``model_traits``, ``check_length`` and ``core_layer_name``, never by name.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from models.base import TRAITS, SequenceModel, check_ranges, count_parameters, state_bytes
from models.mamba import MambaBackbone, MambaOptions
from models.mamba2 import Mamba2Backbone, Mamba2Options
from models.mingru import MinGRUOptions, MinLSTMOptions, MinRNNBackbone
from models.rnn import LSTMOptions, RNNBackbone, RNNOptions, check_spec
from models.seq2seq import Seq2SeqBackbone, Seq2SeqModel, Seq2SeqOptions
from models.seq2seq import check_spec as check_seq2seq_spec
from models.ssm import SSMBackbone, SSMOptions
from models.transformer import TransformerBackbone, TransformerOptions
from tasks.base import TaskSpec
from tasks.registry_errors import unknown_name

PARAM_TOLERANCE = 0.05
MAX_WIDTH = 8192


@dataclass(frozen=True)
class Family:
    options: type  # frozen dataclass of the family's options and their defaults
    backbone: Callable[[int, Any], nn.Module]  # (width, options) -> backbone
    width_multiple: Callable[[Any], int]
    description: str
    traits: frozenset[str]  # words of models.base.TRAITS; options may add some (their ``traits()``)
    # Raises ValueError when these options cannot serve a task of this spec (e.g. a bidirectional RNN would see
    # the answer on a task scored at every step).
    check_spec: Callable[[TaskSpec, Any], None] = lambda spec, options: None
    model: type[SequenceModel] = SequenceModel  # what wraps the backbone: encoder, head, and how they connect
    default: bool = True  # one of the families every comparison runs unless told otherwise
    # Its runs can train packed (``run --pack``: torch.func's vmap over stacked parameters). torch's fused RNN
    # modules have no vmap rule, so their families cannot.
    packable: bool = True


def _recurrent(cell: str, options: type, description: str, traits: set[str]) -> Family:
    """A family on one of torch's fused recurrent modules."""
    backbone, check = functools.partial(RNNBackbone, cell), functools.partial(check_spec, cell)
    traits = frozenset({"recurrent", "fixed_state", *traits})
    return Family(options, backbone, RNNBackbone.width_multiple, description, traits, check, packable=False)


MODELS: dict[str, Family] = {
    "rnn": _recurrent("rnn", RNNOptions, "tanh RNN (nn.RNN)", set()),
    "lstm": _recurrent("lstm", LSTMOptions, "LSTM (nn.LSTM)", {"gated"}),
    "gru": _recurrent("gru", RNNOptions, "GRU (nn.GRU)", {"gated"}),
    "transformer": Family(
        TransformerOptions,
        TransformerBackbone,
        TransformerBackbone.width_multiple,
        "pre-norm causal Transformer, RoPE",
        frozenset({"attention", "one_hop"}),
    ),
    "ssm": Family(
        SSMOptions,
        SSMBackbone,
        SSMBackbone.width_multiple,
        "diagonal SSM (S4D-Lin), FFT convolution",
        frozenset({"ssm", "time_invariant", "fixed_state", "one_hop"}),
    ),
    "seq2seq": Family(
        Seq2SeqOptions,
        Seq2SeqBackbone,
        Seq2SeqBackbone.width_multiple,
        "GRU encoder-decoder: teacher forcing in training, greedy decoding at test",
        frozenset({"recurrent", "gated"}),  # its decoder restarts at the answer: no streaming state
        check_seq2seq_spec,
        Seq2SeqModel,
        default=False,  # a variant of the GRU for the classic lessons, not one of the five families compared
        packable=False,  # nn.GRU inside
    ),
    "mamba": Family(
        MambaOptions,
        MambaBackbone,
        MambaBackbone.width_multiple,
        "Mamba: selective SSM (S6) with conv and gate, fused scan",
        frozenset({"ssm", "selective", "gated", "fixed_state", "linear_recurrence"}),
        default=False,  # named with --models
    ),
    "mamba2": Family(
        Mamba2Options,
        Mamba2Backbone,
        Mamba2Backbone.width_multiple,
        "Mamba-2: SSD, a scalar decay per head, chunked as matrix products",
        frozenset({"ssm", "selective", "gated", "fixed_state", "linear_recurrence"}),
        default=False,  # named with --models
    ),
    "mingru": Family(
        MinGRUOptions,
        functools.partial(MinRNNBackbone, "gru"),
        MinRNNBackbone.width_multiple,
        "minGRU: gates from the input only, parallel scan",
        frozenset({"recurrent", "gated", "fixed_state", "linear_recurrence"}),
        default=False,  # named with --models
    ),
    "minlstm": Family(
        MinLSTMOptions,
        functools.partial(MinRNNBackbone, "lstm"),
        MinRNNBackbone.width_multiple,
        "minLSTM: normalised forget and input gates from the input only, parallel scan",
        frozenset({"recurrent", "gated", "fixed_state", "linear_recurrence"}),
        default=False,  # named with --models
    ),
}
DEFAULT_MODELS = [name for name, family in MODELS.items() if family.default]

__all__ = [
    "DEFAULT_MODELS",
    "MODELS",
    "PARAM_TOLERANCE",
    "TRAITS",
    "SequenceModel",
    "build_model",
    "check_fits_task",
    "check_length",
    "core_layer_name",
    "count_parameters",
    "full_options",
    "model_options",
    "model_traits",
    "packable",
    "parse_options",
    "solve_width",
    "state_bytes",
]


def model_options(name: str) -> dict[str, object]:
    """The family's options and their defaults."""
    return {f.name: f.default for f in dataclasses.fields(_family(name).options)}


def build_model(
    name: str, spec: TaskSpec, *, width: int | None = None, target_params: int | None = None, **options
) -> SequenceModel:
    """Build model ``name`` for ``spec`` at ``width``, or at the width that meets ``target_params``."""
    family = _family(name)
    parsed = parse_options(name, options)
    family.check_spec(spec, parsed)
    if (width is None) == (target_params is None):
        raise ValueError("build_model needs exactly one of width and target_params")
    if width is None:
        width = solve_width(name, spec, target_params, **options)
    return family.model(spec, family.backbone(width, parsed), width)


def check_fits_task(name: str, spec: TaskSpec, **options) -> None:
    """Raises ValueError, naming the option and the task's scoring, when the model cannot serve the task."""
    _family(name).check_spec(spec, parse_options(name, options))


def packable(name: str) -> bool:
    """Whether the family's runs can train packed (``run --pack``)."""
    return _family(name).packable


def model_traits(name: str, options: dict) -> list[str]:
    """The family's traits with those its options add, sorted: what a record stores."""
    parsed = parse_options(name, options)
    extra = parsed.traits() if hasattr(parsed, "traits") else set()
    return sorted(_family(name).traits | extra)


def check_length(name: str, options: dict, length: int) -> None:
    """Raises ValueError when the family, at these options, cannot take sequences of ``length`` steps."""
    parsed = parse_options(name, options)
    if hasattr(parsed, "check_length"):
        parsed.check_length(length)


def core_layer_name(name: str, spec: TaskSpec, options: dict) -> str | None:
    """The class name of the layer ``bench speed --bare`` times for this family, None if it has none.

    Raises ValueError, naming the option, when these options leave no single layer to time."""
    family = _family(name)
    parsed = parse_options(name, options)
    width = family.width_multiple(parsed)
    with torch.device("meta"):  # shapes only: nothing allocated, nothing initialised
        layer = family.model(spec, family.backbone(width, parsed), width).core_layer()
    return type(layer).__name__ if layer is not None else None


@functools.lru_cache(maxsize=256)
def _count_at_width(name: str, spec: TaskSpec, width: int, options: tuple) -> int:
    family = _family(name)
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = family.model(spec, family.backbone(width, family.options(**dict(options))), width)
    return count_parameters(model)


def solve_width(name: str, spec: TaskSpec, target_params: int, **options) -> int:
    """The width whose parameter count is closest to ``target_params``; raises if none is within tolerance."""
    family = _family(name)
    step = family.width_multiple(parse_options(name, options))
    key = tuple(sorted(options.items()))

    def count(multiple: int) -> int:
        return _count_at_width(name, spec, multiple * step, key)

    # Parameter count grows with width: bisect for the first width at or above the target.
    lo, hi = 1, MAX_WIDTH // step
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(mid) < target_params else (lo, mid)
    best = min({max(lo - 1, 1), lo}, key=lambda m: abs(count(m) - target_params))
    achieved = count(best)
    if abs(achieved - target_params) > PARAM_TOLERANCE * target_params:
        raise ValueError(
            f"{name}: no width gives {target_params} parameters within {PARAM_TOLERANCE:.0%} "
            f"(closest: width {best * step} with {achieved}); change --params or the model options"
        )
    return best * step


def _family(name: str) -> Family:
    if name in MODELS:
        return MODELS[name]
    from models import plugins  # a family from outside the repository, loaded by name (models/plugins.py)

    if plugins.is_plugin(name):
        return plugins.family(name)
    raise ValueError(unknown_name("model", name, [*MODELS, *plugins.plugin_names()]))


def parse_options(name: str, options: dict):
    """The family's options object; raises ValueError naming an unknown key, a wrong type or a value out of range."""
    family = _family(name)
    allowed = model_options(name)
    for key, value in options.items():
        if key not in allowed:
            raise ValueError(unknown_name(f"{name} option", key, allowed))
        if not _same_kind(value, allowed[key]):
            raise ValueError(f"{name} option {key} must be of type {type(allowed[key]).__name__}, got {value!r}")
    check_ranges(name, family.options, options)  # integers past their declared range (models.base.bounded)
    # 1 where a float is due becomes 1.0: the same options must give the same record and run key.
    typed = {key: float(value) if isinstance(allowed[key], float) else value for key, value in options.items()}
    return family.options(**typed)


def full_options(name: str, options: dict) -> dict:
    """Every option of the family, given or default, each of its default's type: what a record stores."""
    return dataclasses.asdict(parse_options(name, options))


def _same_kind(value: object, default: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):  # bool is an int to isinstance: keep them apart
        return type(value) is type(default)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
