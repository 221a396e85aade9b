"""The one model interface: shared encoder -> family backbone -> shared head.

Every model maps ``(B, L, ...) -> (B, L, D_out)`` causally, and streams one step at a
time through ``init_state`` / ``step``. The trainer only ever sees ``SequenceModel``,
so it never asks which family it holds.

What the harness may ask of a family goes through traits (``TRAITS``: what kind of model
it is, for the published-outcome checks) and three hooks, each with a default here:
``core_layer`` (the layer ``bench speed --bare`` times alone), ``state_bytes`` (the size of
a streaming state) and the options' ``check_length`` (a length the family cannot take).

Dimension letters: ``B`` batch, ``L`` length, ``D`` model width, ``C`` input channels,
``V`` vocabulary size.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import torch
from torch import nn

from tasks.base import TaskSpec

# The vocabulary of traits a family may declare. Published outcomes speak about kinds of model
# ("a time-invariant SSM", "fixed-state recurrent models"), and the harness finds the families that
# are of that kind through these words, never through their names.
TRAITS: dict[str, str] = {
    "recurrent": "an RNN: a hidden state updated step by step from the last one (the classic cells, minimal RNNs)",
    "gated": "multiplicative gates decide what the state keeps",
    "attention": "softmax attention over every earlier step",
    "ssm": "a linear state-space layer",
    "time_invariant": "the state update ignores the input (LTI): the layer is a fixed convolution",
    "selective": "the state update depends on the input",
    "linear_recurrence": "the state is a linear function of the last one, with input-dependent coefficients "
    "(minimal RNNs, selective SSMs): it trains through a parallel scan",
    "fixed_state": "streams with a state whose size does not grow with the sequence",
    "one_hop": "every earlier step reaches an output in one hop (attention, a convolution kernel)",
    "absolute_positions": "positions enter as absolute codes added to the input (option positions)",
    "long_memory_init": "gates initialised to keep memory over a chosen span (the LSTM's option chrono): not the "
    "classic initialisation that published 'classic RNN' outcomes speak about",
}


class Backbone(Protocol):
    """What a model family implements: a causal map (B, L, D) -> (B, L, D), and its streaming form."""

    def __call__(self, h: torch.Tensor) -> torch.Tensor: ...

    def init_state(self, batch_size: int) -> Any: ...

    def step(self, h_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]: ...


MAX_LAYERS = 64  # stacked layers of any family: past it a 20k-parameter model has widths of one or two channels


def bounded(default: int, low: int, high: int) -> Any:
    """An integer option and the range it may take, checked by ``models.parse_options`` before anything is built (a
    plugin's options may use it too): ``layers: int = bounded(2, 1, MAX_LAYERS)``."""
    return dataclasses.field(default=default, metadata={"range": (low, high)})


def check_ranges(family: str, options: type, given: dict) -> None:
    """Raises ValueError naming the option, its range and the value, for a given integer outside its ``bounded``
    range: a width of 10,000 layers is refused at once, not after minutes of solving for it."""
    for f in dataclasses.fields(options):
        bounds = f.metadata.get("range")
        value = given.get(f.name)
        if bounds and isinstance(value, int) and not isinstance(value, bool) and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"{family} option {f.name} must be between {bounds[0]} and {bounds[1]}, got {value}")


def make_encoder(spec: TaskSpec, width: int) -> nn.Module:
    """Embedding for token inputs (B, L) -> (B, L, D); linear map for real inputs (B, L, C) -> (B, L, D)."""
    if spec.input_kind == "tokens":
        return nn.Embedding(spec.input_size, width)
    return nn.Linear(spec.input_size, width)


class SequenceModel(nn.Module):
    """Encoder, backbone and head; identical around every family."""

    def __init__(self, spec: TaskSpec, backbone: nn.Module, width: int):
        super().__init__()
        self.spec = spec
        self.width = width
        self.encoder = make_encoder(spec, width)
        self.backbone = backbone
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, spec.output_size))

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, D_out). ``targets`` are the batch's targets while training, for a family that feeds them back
        (an encoder-decoder's teacher forcing); single-stream families ignore them."""
        return self.head(self.backbone(self.encoder(x)))  # (B, L, D_out)

    @property
    def streams(self) -> bool:
        """Whether ``init_state``/``step`` exist: false for a family that must see the whole sequence first."""
        return getattr(self.backbone, "streams", True)

    def init_state(self, batch_size: int) -> Any:
        return self.backbone.init_state(batch_size)

    def step(self, x_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One time step: x_t is (B,) tokens or (B, C) reals; returns ((B, D_out), new state)."""
        h_t, state = self.backbone.step(self.encoder(x_t), state)  # (B, D)
        return self.head(h_t), state

    def core_layer(self) -> nn.Module | None:
        """The family's core layer, timed alone by ``bench speed --bare``; None for a family without one.

        Raises ValueError, naming the option, when these options leave no single layer to time."""
        hook = getattr(self.backbone, "core_layer", None)
        return hook() if hook is not None else None


def state_bytes(state: Any) -> int:
    """Bytes a streaming state holds: its tensors, or what a cache with spare capacity has filled (``filled()``)."""
    if hasattr(state, "filled"):
        return state_bytes(state.filled())
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, list | tuple):
        return sum(state_bytes(item) for item in state)
    if isinstance(state, dict):
        return sum(state_bytes(item) for item in state.values())
    return 0


def step_blocks(blocks: nn.ModuleList, h_t: torch.Tensor, states: list) -> tuple[torch.Tensor, list]:
    """One streaming step through a stack of blocks, each carrying its own state."""
    new_states = []
    for block, state in zip(blocks, states, strict=True):
        h_t, state = block.step(h_t, state)
        new_states.append(state)
    return h_t, new_states


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def parameter_split(model: SequenceModel) -> dict[str, int]:
    """Where the trainable parameters sit: the shared encoder (an embedding for tokens), the family's own core
    (its backbone, and anything else a family adds), and the shared head. They sum to the model's count."""
    embedding, head = count_parameters(model.encoder), count_parameters(model.head)
    return {"embedding": embedding, "core": count_parameters(model) - embedding - head, "head": head}


def no_weight_decay(param: nn.Parameter) -> nn.Parameter:
    """Tag a parameter the optimiser must not decay (e.g. SSM time scales); the trainer reads the tag."""
    param._no_weight_decay = True  # type: ignore[attr-defined]
    return param


def lr_cap(param: nn.Parameter, cap: float) -> nn.Parameter:
    """Tag a parameter to train at min(lr, cap) and without weight decay (the S4D recipe for A and dt); the
    trainer reads the tag."""
    param._lr_cap = cap  # type: ignore[attr-defined]
    return no_weight_decay(param)


def implementation(default: Any, keyed_as: Any) -> Any:
    """An option that chooses how the family's map is computed, not which map (e.g. a fused kernel or a loop):
    like ``--numerics``, it is recorded but the run key hashes it as ``keyed_as`` whatever its value, so a
    faster implementation never makes finished runs look new (``keyed_options``)."""
    return dataclasses.field(default=default, metadata={"keyed_as": keyed_as})


def keyed_options(options_type: type, options: dict) -> dict:
    """The full options as the run key hashes them: every ``implementation`` option at its ``keyed_as`` value."""
    fixed = {f.name: f.metadata["keyed_as"] for f in dataclasses.fields(options_type) if "keyed_as" in f.metadata}
    return {key: fixed.get(key, value) for key, value in options.items()}
