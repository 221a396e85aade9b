"""Length generalisation: --eval-lengths, the Transformer's position encodings, and published-outcome checks."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import models
import tasks
from bench.analysis.outcomes import expectation_table
from bench.config import ConfigError, load_config
from bench.report.write import REPORT_MD
from bench.store.jsonl import read_records
from bench.sweep.plan import plan
from tests.test_config_cli import flags
from tests.test_run_e2e import run_capturing_stdout

# ---- the Transformer's position encodings ------------------------------------------------------------


@pytest.mark.parametrize("positions", ["rope", "nope", "sinusoidal", "learned"])
def test_every_position_encoding_streams_like_its_full_forward(positions, gen):
    model = models.build_model("transformer", tasks.get_task("copying").spec, width=16, positions=positions)
    model.eval()
    x = torch.randint(0, 10, (2, 23), generator=gen(0))
    with torch.no_grad():
        full, state, steps = model(x), model.init_state(2), []
        for x_t in x.unbind(1):
            y_t, state = model.step(x_t, state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-4 * full.abs().max().item(), rtol=0)


def test_a_learned_table_refuses_lengths_past_its_end(gen):
    model = models.build_model("transformer", tasks.get_task("copying").spec, width=16, positions="learned",
                               max_positions=30)  # fmt: skip
    model(torch.randint(0, 10, (1, 30), generator=gen(0)))  # its last row is allowed
    with pytest.raises(ValueError, match="covers 30 steps, got a sequence of 31"):
        model(torch.randint(0, 10, (1, 31), generator=gen(0)))


def test_position_encodings_other_than_learned_add_no_parameters():
    spec = tasks.get_task("copying").spec
    counts = {p: models.count_parameters(models.build_model("transformer", spec, width=16, positions=p))
              for p in ("rope", "nope", "sinusoidal")}  # fmt: skip
    assert len(set(counts.values())) == 1


# ---- --eval-lengths in the configuration ----------------------------------------------------------------


def test_eval_lengths_are_multiples_or_lengths_longer_than_the_trained_one():
    config = load_config(flags(task="adding", lengths="10,40", eval_lengths="2x,4x,50"))
    assert config.eval_lengths_for(10) == (20, 40, 50)
    assert config.eval_lengths_for(40) == (50, 80, 160)  # 50 is longer than 40: kept; nothing shorter
    keys = {s.run_key for s in plan(config)}
    plain = {s.run_key for s in plan(load_config(flags(task="adding", lengths="10,40")))}
    assert not keys & plain  # what a run is tested at is part of what it computes


def test_runs_without_eval_lengths_keep_their_keys():
    spec = plan(load_config(flags(task="adding", lengths="10")))[0]
    assert "eval_lengths" not in spec.identity()


@pytest.mark.parametrize("value", ["2y", "0x", "-4", "x"])
def test_bad_eval_lengths_are_refused(value):
    with pytest.raises(ConfigError, match="eval_lengths"):
        load_config(flags(task="adding", eval_lengths=value))


def test_a_learned_table_shorter_than_an_eval_length_is_refused_before_training(tmp_path, cli, capsys):
    out = tmp_path / "out"
    argv = ["run", "--task", "copying", "--models", "transformer", "--lengths", "8", "--params", "27000",
            "--option", "transformer.positions=learned", "--option", "transformer.max_positions=40",
            "--eval-lengths", "4x", "--out", str(out)]  # fmt: skip
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "eval_lengths" in err and "covers 40 steps, got a sequence of 52" in err
    assert not out.exists()


# ---- a run tested at longer lengths --------------------------------------------------------------------


def test_a_model_evaluated_at_2x_records_the_extra_metrics_and_the_report_shows_them(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    argv = [f for f in tiny_args(out, "copying", "--models", "lstm,transformer", "--eval-lengths", "2x")
            if f != "--no-report"]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    for record in read_records(out):
        (result,) = record["eval_lengths_results"]
        assert result["seq_len"] == 2 * record["seq_len"] and result["status"] == "ok"
        assert 0 <= result["accuracy"] <= 1 and result["loss"] > 0
    report = (out / REPORT_MD).read_text()
    assert "## Length generalisation" in report and "T=8 ×2" in report
    assert (out / "figures" / "copying_length_generalisation.png").stat().st_size > 10_000
    assert "Published outcomes" in stdout


# ---- published outcomes ------------------------------------------------------------------------------------


def cells(task: str, metrics: dict[str, float], solved: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame([{"task": task, "model": m, "seq_len": 64, "n_seeds": 1, "metric_mean": v,
                          "solved_frac": solved, "baseline": 0.17, "model_traits": ",".join(models.model_traits(m, {}))}
                         for m, v in metrics.items()])  # fmt: skip


@pytest.mark.parametrize("ssm, transformer, verdict", [(0.2, 0.95, "confirmed"), (0.9, 0.5, "contradicted"),
                                                       (0.5, 0.6, "unclear")])  # fmt: skip
def test_selective_copying_expects_the_ssm_far_below_attention(ssm, transformer, verdict):
    table = expectation_table(cells("selective_copying", {"ssm": ssm, "transformer": transformer}), pd.DataFrame())
    assert table["here"].tolist() == [verdict]


def test_absolute_positions_are_expected_to_degrade_past_the_trained_length():
    results = pd.DataFrame([
        {"task": "copying", "model": "transformer", "ratio": r, "value": v,
         "model_traits": models.model_traits("transformer", {"positions": "learned"})}
        for r, v in ((1.0, 0.95), (2.0, 0.3))
    ])  # fmt: skip
    table = expectation_table(cells("copying", {"ssm": 1.0}, solved=1.0), results)
    assert dict(zip(table["published outcome"], table["here"], strict=True)) == {
        "a time-invariant diagonal SSM solves vanilla copying": "confirmed",
        "attention with absolute positions degrades beyond its training length": "confirmed",
    }


def test_an_expectation_without_its_models_is_not_measured():
    table = expectation_table(cells("associative_recall", {"ssm": 0.5}), pd.DataFrame())
    assert table["here"].tolist() == ["not measured"]
