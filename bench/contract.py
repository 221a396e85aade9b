"""The contract checks every model family and every task passes, built in or plugin (``python -m bench check NAME``).

A model: its options and traits load (``loads``); for a real-valued and a token task its width is solved for a
parameter target within ``models.PARAM_TOLERANCE`` (``parameters``) and it maps (B, L, ...) to finite
(B, L, D_out) (``builds``); no output depends on a later input (``causal``); ``init_state`` and
``step`` give what the full forward gives, or the family declares it does not stream (``streaming``); one
optimiser step on a tiny task gives finite gradients and moves the weights (``trains``).

A task: it loads as a frozen ``tasks.Task`` (``loads``); its ``spec`` is well formed (``spec``); ``sample`` is
seeded by its generator alone and gives the shapes its spec declares (``sample``); its ``baseline`` is finite
and not solved (``baseline``); ``metrics`` give a differentiable loss and its primary metric (``metrics``);
``facts`` can be stored (``facts``); a GRU takes one optimiser step on it (``trains``).

Each check is one line: its name, whether it passed, and what it saw. A plugin named in a command's config
must pass them all before anything runs (``require``): the first failure is the command's one-line error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

import models
import tasks
from models import plugins as model_plugins
from tasks.plugins import MODEL_GROUP, TASK_GROUP, PluginError, installed, is_reference, load

TARGET_PARAMS = 20_000  # the quick preset's parameter target: every built-in family meets it on every task
SPECS = {  # the two kinds of task a family must serve: real inputs scored at the end, tokens scored everywhere
    "real inputs": tasks.TaskSpec("real", 2, "regression", 1, "last", answer_length=1),
    "tokens": tasks.TaskSpec("tokens", 10, "classes", 10, "all"),
}
# For a family that refuses to be scored at every step (an encoder-decoder decodes the answer at the end).
TAIL_SPEC = tasks.TaskSpec("tokens", 10, "classes", 10, "tail", answer_length=3)
LENGTH, CHANGED_FROM, STREAMED = 12, 6, 9


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'}  {self.name}: {self.detail}"


class ContractError(ValueError):
    """A check a model or task failed, as one line."""


def kind_of(name: str) -> str:
    """``model`` or ``task``: a built-in name, an entry point of either group, or what the reference loads."""
    if name in models.MODELS or name in installed(MODEL_GROUP):
        return "model"
    if name in tasks.TASKS or name in installed(TASK_GROUP):
        return "task"
    if not is_reference(name):
        raise PluginError(f"'{name}' is no model, task or plugin; give MODULE:NAME or path/to/file.py:NAME")
    obj = load(name, MODEL_GROUP, "plugin").obj
    return "task" if isinstance(obj, type) and issubclass(obj, tasks.Task) else "model"


def run_checks(name: str, kind: str | None = None) -> list[Check]:
    """Every check of the model or task ``name``, in order; after a failed one, those that need it are not run."""
    kind = kind or kind_of(name)
    steps = MODEL_CHECKS if kind == "model" else TASK_CHECKS
    results: list[Check] = []
    context: dict = {}
    for check_name, check in steps:
        try:
            results.append(Check(check_name, True, check(name, context)))
        except Exception as exc:  # noqa: BLE001 - whatever a plugin raises is a failed check, reported as one line
            detail = str(exc) if isinstance(exc, AssertionError | PluginError) else f"{type(exc).__name__}: {exc}"
            results.append(Check(check_name, False, " ".join(detail.split())))
            break  # the later checks build on this one
    return results


_PASSED: set[tuple[str, str]] = set()  # (name, origin) of plugins that passed in this process


def require(name: str, kind: str) -> None:
    """Nothing when the plugin ``name`` passes every check (once per process and origin); else ContractError naming
    the first failed check. Built-in names pass without checks (their tests hold them to the same contract)."""
    if (kind == "model" and not model_plugins.is_plugin(name)) or (kind == "task" and not tasks.is_plugin(name)):
        return
    try:
        origin = json.dumps(load(name, MODEL_GROUP if kind == "model" else TASK_GROUP, kind).origin, sort_keys=True)
    except PluginError as exc:
        raise ContractError(str(exc)) from None
    if (name, origin) in _PASSED:
        return
    failed = [check for check in run_checks(name, kind) if not check.passed]
    if failed:
        detail = failed[0].detail
        prefix = f"{kind} '{name}'"
        if detail.startswith(prefix):  # a loader's message names the plugin and the check already
            raise ContractError(detail)
        raise ContractError(f"{prefix} fails check {failed[0].name}: {detail}")
    _PASSED.add((name, origin))


# ---- models --------------------------------------------------------------------------------------------------------


def _model_loads(name: str, context: dict) -> str:
    options = models.model_options(name)
    traits = models.model_traits(name, {})
    shown = ", ".join(f"{k}={v}" for k, v in options.items()) or "none"
    return f"options {shown}; traits {', '.join(traits) or 'none'}"


def _model_parameters(name: str, context: dict) -> str:
    seen = []
    for label, spec in SPECS.items():
        if label == "tokens" and _refuses(name, spec):
            spec = TAIL_SPEC
        torch.manual_seed(0)
        model = models.build_model(name, spec, target_params=TARGET_PARAMS)  # raises when no width is within
        count = models.count_parameters(model)
        assert abs(count - TARGET_PARAMS) <= models.PARAM_TOLERANCE * TARGET_PARAMS, (
            f"{label}: {count} parameters at width {model.width}, not within "
            f"{models.PARAM_TOLERANCE:.0%} of {TARGET_PARAMS}"
        )
        context[label] = model
        seen.append(f"{label}: width {model.width}, {count} for {TARGET_PARAMS}")
    return "; ".join(seen)


def _model_builds(name: str, context: dict) -> str:
    seen = []
    for label, spec in SPECS.items():
        out = context[label](_inputs(context[label].spec, 0))
        assert out.shape == (3, LENGTH, spec.output_size), (
            f"{label}: output shape {tuple(out.shape)}, expected {(3, LENGTH, spec.output_size)} (B, L, D_out)"
        )
        assert torch.isfinite(out).all(), f"{label}: the output holds NaN or infinite values"
        seen.append(f"{label} -> {tuple(out.shape)}")
    return "; ".join(seen)


def _refuses(name: str, spec: tasks.TaskSpec) -> bool:
    try:
        models.check_fits_task(name, spec)
    except ValueError:
        return True
    return False


def _model_causal(name: str, context: dict) -> str:
    spec = context["tokens"].spec
    model = context["tokens"].eval()
    x = _inputs(spec, 1)
    changed = x.clone()
    changed[:, CHANGED_FROM:] = (changed[:, CHANGED_FROM:] + 1) % spec.input_size  # every later token differs
    with torch.no_grad():
        out, out_changed = model(x), model(changed)
    before = (out_changed[:, :CHANGED_FROM] - out[:, :CHANGED_FROM]).abs().amax(dim=(0, 2))
    leaked = [t for t, d in enumerate(before.tolist()) if d > 1e-5]
    assert not leaked, (
        f"the output at step {leaked[0]} changed (by {before[leaked[0]]:.2g}) when only the inputs from step "
        f"{CHANGED_FROM} on changed: the model sees the future"
    )
    assert not torch.allclose(out_changed[:, CHANGED_FROM:], out[:, CHANGED_FROM:], atol=1e-5), (
        "no output changed when the inputs changed: the model ignores its input"
    )
    return f"outputs before step {CHANGED_FROM} unchanged when the later inputs change"


def _model_streaming(name: str, context: dict) -> str:
    model = context["tokens"].eval()
    if not model.streams:
        return "does not stream (declared: the backbone's streams is false)"
    x = _inputs(context["tokens"].spec, 2)[:, :STREAMED]
    with torch.no_grad():
        full = model(x)
        state, steps = model.init_state(x.shape[0]), []
        for x_t in x.unbind(1):
            y_t, state = model.step(x_t, state)
            steps.append(y_t)
        streamed = torch.stack(steps, dim=1)
    assert streamed.shape == full.shape, f"step outputs stack to {tuple(streamed.shape)}, the forward gives {tuple(full.shape)}"  # noqa: E501
    gap = (streamed - full).abs().max().item()
    assert gap <= 1e-4 * max(full.abs().max().item(), 1.0), (
        f"init_state/step differ from the full forward by up to {gap:.2g} over {STREAMED} steps"
    )
    return f"{STREAMED} steps of init_state/step equal the forward (largest difference {gap:.1g}); "\
        f"state {models.state_bytes(state)} bytes"


def _model_trains(name: str, context: dict) -> str:
    task = tasks.get_task("adding")
    return _one_step(name, task, max(task.min_length, 8))


# ---- tasks ---------------------------------------------------------------------------------------------------------


def _task_loads(name: str, context: dict) -> str:
    variants = tasks.task_variants(name)
    task = tasks.get_task(name)
    context["task"] = task
    return f"{task.variant_id} ({len(variants)} variant{'s' * (len(variants) > 1)}); parameters " + (
        ", ".join(f"{k}={v}" for k, v in tasks.task_parameters(name).items()) or "none"
    )


def _task_spec(name: str, context: dict) -> str:
    spec = context["task"].spec
    assert isinstance(spec, tasks.TaskSpec), f"spec is a {type(spec).__name__}, not a tasks.TaskSpec"
    assert spec.input_kind in ("tokens", "real"), f"input_kind {spec.input_kind!r}: tokens or real"
    assert spec.output_kind in ("classes", "regression"), f"output_kind {spec.output_kind!r}: classes or regression"
    assert spec.scored in ("last", "all", "tail", "some"), f"scored {spec.scored!r}: last, all, tail or some"
    for field in ("input_size", "output_size"):
        value = getattr(spec, field)
        assert isinstance(value, int) and value > 0, f"{field} must be a positive int, got {value!r}"
    kinds = f"{spec.input_kind} in ({spec.input_size}), {spec.output_kind} out ({spec.output_size})"
    return f"{kinds}, scored {spec.scored}"


def _task_sample(name: str, context: dict) -> str:
    task, spec = context["task"], context["task"].spec
    length = max(task.min_length, 8)
    context["length"] = length
    first, again = (task.sample(4, length, generator=_generator(0)) for _ in range(2))
    other = task.sample(4, length, generator=_generator(1))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True)), (
        "two generators of the same seed gave different batches: sample must draw only from its generator"
    )
    assert any(not torch.equal(a, b) for a, b in zip(first, other, strict=True)), "two seeds gave the same batch"
    total = task.total_length(length)
    x_shape = (4, total) if spec.input_kind == "tokens" else (4, total, spec.input_size)
    assert tuple(first.x.shape) == x_shape, f"x is {tuple(first.x.shape)}, the spec says {x_shape}"
    assert tuple(first.y.shape) == tuple(first.mask.shape) == (4, total), (
        f"y {tuple(first.y.shape)} and mask {tuple(first.mask.shape)} must both be (B, L) = {(4, total)}"
    )
    assert first.mask.dtype == torch.bool and bool(first.mask.any()), "mask must be bool and score some step"
    if spec.input_kind == "tokens":
        assert first.x.dtype == torch.long and int(first.x.min()) >= 0 and int(first.x.max()) < spec.input_size, (
            f"tokens must be long, in [0, {spec.input_size})"
        )
    context["batch"] = first
    return f"seeded; x {tuple(first.x.shape)}, y and mask {tuple(first.y.shape)} at T={length}"


def _task_baseline(name: str, context: dict) -> str:
    task = context["task"]
    baseline = task.baseline(context["length"])
    assert isinstance(baseline, dict) and "loss" in baseline, "baseline(T) must be a dict with the loss"
    bad = [k for k, v in baseline.items() if not (isinstance(v, int | float) and math.isfinite(v))]
    assert not bad, f"baseline values must be finite numbers: {', '.join(bad)}"
    assert task.primary_metric in baseline, f"baseline lacks the primary metric {task.primary_metric}"
    assert not task.solved(baseline), f"the trivial predictor counts as solved ({task.solved_rule})"
    return ", ".join(f"{k}={v:.4g}" for k, v in baseline.items()) + "; not solved"


def _task_metrics(name: str, context: dict) -> str:
    task, batch = context["task"], context["batch"]
    output = torch.randn(*batch.y.shape, task.spec.output_size, requires_grad=True)
    metrics = task.metrics(output, batch)
    loss = metrics.get("loss")
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0, "metrics must hold a scalar tensor 'loss'"
    assert task.primary_metric in metrics, f"metrics lack the primary metric {task.primary_metric}"
    loss.backward()
    assert output.grad is not None and torch.isfinite(output.grad).all(), "the loss has no finite gradient"
    solved = task.solved({k: float(v.detach()) for k, v in metrics.items()})
    assert isinstance(solved, bool), f"solved(metrics) must be a bool, got {solved!r}"
    return ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in metrics.items()) + " on random outputs"


def _task_facts(name: str, context: dict) -> str:
    facts = context["task"].facts()
    needed = {"metric", "higher_is_better", "solved_rule", "solved_threshold"}
    assert needed <= set(facts), f"facts lack {', '.join(sorted(needed - set(facts)))}"
    json.dumps({**facts, **context["task"].params()})  # stored in every record
    return f"{facts['metric']} ({'higher' if facts['higher_is_better'] else 'lower'} is better), {facts['solved_rule']}"


def _task_trains(name: str, context: dict) -> str:
    return _one_step("gru", context["task"], context["length"])


# ---- shared --------------------------------------------------------------------------------------------------------


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _inputs(spec: tasks.TaskSpec, seed: int) -> torch.Tensor:
    if spec.input_kind == "tokens":
        return torch.randint(0, spec.input_size, (3, LENGTH), generator=_generator(seed))
    return torch.randn(3, LENGTH, spec.input_size, generator=_generator(seed))


def _one_step(model_name: str, task: tasks.Task, length: int) -> str:
    torch.manual_seed(0)
    model = models.build_model(model_name, task.spec, target_params=TARGET_PARAMS)
    before = [p.detach().clone() for p in model.parameters()]
    batch = task.sample(4, length, generator=_generator(2))
    loss = task.metrics(model(batch.x, batch.y), batch)["loss"]
    assert torch.isfinite(loss), f"the loss is {loss.item()}"
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads), "a gradient holds NaN or infinite values"
    torch.optim.AdamW(model.parameters(), lr=1e-3).step()
    moved = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert moved, "no parameter moved after an optimiser step"
    where = f"{model_name} on {task.variant_id}"
    return f"one AdamW step of {where} at T={length}: loss {loss.item():.4g}, {moved} of {len(before)} tensors moved"


Step = Callable[[str, dict], str]
MODEL_CHECKS: list[tuple[str, Step]] = [
    ("loads", _model_loads),
    ("parameters", _model_parameters),
    ("builds", _model_builds),
    ("causal", _model_causal),
    ("streaming", _model_streaming),
    ("trains", _model_trains),
]
TASK_CHECKS: list[tuple[str, Step]] = [
    ("loads", _task_loads),
    ("spec", _task_spec),
    ("sample", _task_sample),
    ("baseline", _task_baseline),
    ("metrics", _task_metrics),
    ("facts", _task_facts),
    ("trains", _task_trains),
]
