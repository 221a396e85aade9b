"""Pure pieces of the harness: the store, timing statistics, the schedule, the optimiser, run keys, seeds, summaries."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re

import pandas as pd
import pytest
import torch

import models
import tasks
from bench.analysis.cells import cell_summary
from bench.analysis.facts import task_facts
from bench.analysis.selection import select_best_lr
from bench.config import ConfigError, load_config
from bench.measure.seeds import derive_seed
from bench.measure.timing import timing_stats
from bench.report.runs import metric_table
from bench.store.files import RUNS_FILE
from bench.store.jsonl import append_record, read_records
from bench.store.records import with_facts
from bench.sweep.plan import plan
from bench.train.loop import make_optimizer, warmup_cosine

# ---- store -----------------------------------------------------------------------------------


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path):
    append_record(tmp_path, {"run_key": "a", "status": "ok"})
    append_record(tmp_path, {"run_key": "b", "status": "oom"})
    with open(tmp_path / RUNS_FILE, "a") as f:
        f.write('{"run_key": "c", "sta')  # a crash in the middle of a write
    with pytest.warns(UserWarning, match="truncated"):
        records = read_records(tmp_path)
    assert records == [{"run_key": "a", "status": "ok", "schema": 2}, {"run_key": "b", "status": "oom", "schema": 2}]


def test_non_finite_floats_are_stored_as_null(tmp_path):
    append_record(tmp_path, {"loss": math.nan, "curve": [[1, math.inf], [2, 0.5]], "test": {"loss": -math.inf}})
    raw = (tmp_path / RUNS_FILE).read_text()
    assert "NaN" not in raw and "Infinity" not in raw
    assert json.loads(raw) == {"loss": None, "curve": [[1, None], [2, 0.5]], "test": {"loss": None}, "schema": 2}


def test_missing_store_reads_as_empty(tmp_path):
    assert read_records(tmp_path / "nowhere") == []


# ---- timing statistics -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "samples, median, iqr",
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], 3.0, 2.0),  # inclusive quartiles: q1 = 2, q3 = 4
        ([5.0, 1.0, 4.0, 2.0, 3.0], 3.0, 2.0),  # order does not matter
        ([1.0, 2.0, 3.0, 4.0], 2.5, 1.5),  # q1 = 1.75, q3 = 3.25, as numpy.percentile
        ([5.0], 5.0, 0.0),
    ],
)
def test_timing_stats(samples, median, iqr):
    stats = timing_stats(samples)
    assert stats.median == pytest.approx(median)
    assert stats.iqr == pytest.approx(iqr)
    assert stats.n == len(samples)


def test_timing_stats_needs_a_sample():
    with pytest.raises(ValueError):
        timing_stats([])


# ---- learning-rate schedule ------------------------------------------------------------------


def test_warmup_cosine_shape():
    steps, warmup = 100, 10
    factors = [warmup_cosine(step, steps, 0.1) for step in range(steps)]
    assert factors[:warmup] == pytest.approx([(s + 1) / warmup for s in range(warmup)])  # linear ramp
    assert factors[warmup - 1] == pytest.approx(1.0) and factors[warmup] == pytest.approx(1.0)
    after = factors[warmup:]
    assert all(a > b for a, b in itertools.pairwise(after))  # strictly decreasing
    assert factors[-1] < 1e-3
    assert warmup_cosine(steps, steps, 0.1) == pytest.approx(0.0, abs=1e-12)


def test_warmup_cosine_without_warmup_starts_at_one():
    assert warmup_cosine(0, 50, 0.0) == pytest.approx(1.0)


# ---- optimiser groups ------------------------------------------------------------------------


def test_weight_decay_reaches_matrices_only():
    torch.manual_seed(0)
    model = models.build_model("ssm", tasks.get_task("adding").spec, width=8)
    decay, rest = make_optimizer(model, lr=1e-3, weight_decay=0.1).param_groups
    assert decay["weight_decay"] == 0.1 and rest["weight_decay"] == 0.0
    decayed, kept = {id(p) for p in decay["params"]}, {id(p) for p in rest["params"]}
    assert decayed.isdisjoint(kept) and decayed | kept == {id(p) for p in model.parameters()}
    for name, p in model.named_parameters():
        tagged = getattr(p, "_no_weight_decay", False)
        assert (id(p) in decayed) == (p.ndim >= 2 and not tagged), name
    ssm = model.backbone.blocks[0].ssm
    assert id(ssm.kernel.log_neg_a_real) in kept  # a tagged matrix
    assert id(ssm.skip) in kept and id(model.head[0].weight) in kept  # vectors, norms
    assert id(model.backbone.blocks[0].mix.weight) in decayed and id(model.encoder.weight) in decayed


# ---- run keys and seeds ----------------------------------------------------------------------


def tiny_plan():
    return plan(load_config({"task": "adding", "models": "lstm,gru", "lengths": "8,16", "steps": "5"}))


def test_run_key_is_a_stable_sha256():
    first, second = tiny_plan(), tiny_plan()
    assert [s.run_key for s in first] == [s.run_key for s in second]
    assert all(re.fullmatch("[0-9a-f]{64}", s.run_key) for s in first)
    assert len({s.run_key for s in first}) == len(first)


@pytest.mark.parametrize("change, same", [({"lr": 0.5}, False), ({"seed": 7}, False), ({"device": "cuda"}, True),
                                          ({"threads": 3}, True)])  # fmt: skip
def test_run_key_follows_what_is_computed_not_where(change, same):
    spec = tiny_plan()[0]
    assert (dataclasses.replace(spec, **change).run_key == spec.run_key) is same


@pytest.mark.parametrize("field, values", [("lengths", "8,8"), ("seeds", "0,0"), ("lrs", "0.001,0.001")])
def test_a_sweep_never_plans_a_run_twice(field, values):
    try:
        specs = plan(load_config({"task": "adding", "models": "lstm", field: values}))
    except ConfigError:
        return  # rejected up front, as a duplicate model is
    assert len({s.run_key for s in specs}) == len(specs)


def test_derive_seed_is_deterministic_and_split_specific():
    parts = (0, "adding/halves@1", 100)
    seeds = {split: derive_seed(parts[0], split, *parts[1:]) for split in ("train", "val", "test", "init")}
    assert len(set(seeds.values())) == len(seeds)
    assert seeds["train"] == derive_seed(0, "train", "adding/halves@1", 100)
    assert derive_seed(1, "train", "adding/halves@1", 100) != seeds["train"]
    assert all(0 <= s < 2**63 for s in seeds.values())


# ---- summaries -------------------------------------------------------------------------------


def record(model, seed, lr, status="ok", val_loss=None, test_loss=None, solved=False, seq_len=8):
    return with_facts({"task": "adding", "variant": "adding/halves@1", "model": model, "seq_len": seq_len,
                       "seed": seed, "lr": lr, "status": status, "val_loss": val_loss, "test_loss": test_loss,
                       "solved": solved, "baseline_loss": 1 / 6, "statuses": status})  # fmt: skip


def test_select_best_lr_uses_the_lowest_validation_loss_of_finished_runs():
    frame = pd.DataFrame(
        [
            record("lstm", 0, 1e-3, val_loss=0.5, test_loss=0.01),  # best on test, not on validation
            record("lstm", 0, 3e-3, val_loss=0.2, test_loss=0.2),
            record("lstm", 0, 1e-2, status="diverged", val_loss=0.1),  # lowest, but did not finish ok
            record("lstm", 1, 1e-3, val_loss=0.1, test_loss=0.1),
            record("lstm", 1, 3e-3, val_loss=0.3, test_loss=0.3),
            record("gru", 0, 1e-3, val_loss=0.4, test_loss=0.4),
            record("gru", 0, 3e-3, val_loss=0.6, test_loss=0.6),
        ]
    )
    best = select_best_lr(frame)
    chosen = {(r.model, r.seed): r.lr for r in best.itertuples()}
    assert chosen == {("lstm", 0): 3e-3, ("lstm", 1): 1e-3, ("gru", 0): 1e-3}


def test_metric_table_shows_the_failure_of_a_model_without_a_finished_run():
    frame = pd.DataFrame(
        [
            record("lstm", 0, 1e-3, val_loss=0.2, test_loss=0.1234),
            record("transformer", 0, 1e-3, status="oom"),
            record("ssm", 0, 1e-3, val_loss=0.1, test_loss=0.005, solved=True),
        ]
    )
    table = metric_table(cell_summary(frame), task_facts(frame, "adding"))
    assert list(table.index) == ["lstm", "transformer", "ssm", "baseline"]
    assert table.loc["lstm", "T=8"] == "0.1234 (0/1 solved)"
    assert table.loc["transformer", "T=8"] == "oom 1"
    assert table.loc["ssm", "T=8"] == "0.005 (1/1 solved)"
    assert table.loc["baseline", "T=8"] == "0.1667"
