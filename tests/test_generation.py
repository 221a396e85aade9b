"""Autoregressive sampling: reproducible from a generator, greedy at low temperature, through step only;
and `python -m bench speed --generate` (with and without --from) as rows, tables and a report."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import bench.commands.generation
import models
import tasks
from bench.commands.generation import CannotSample, sample, window, window_figures
from bench.commands.sampling import GenerationJob, measure_generation
from bench.report.document import FIGURES_DIR
from bench.report.render import render_terminal
from bench.report.write import REPORT_MD, speed_summary
from bench.store.files import SPEED_FILE
from bench.store.folder import ResultsFolder
from bench.store.jsonl import read_records
from models.base import SequenceModel
from tasks.base import TaskSpec
from tests.conftest import generator
from tests.test_report import is_real_png
from tests.test_run_e2e import run_capturing_stdout


def render_speed(rows: list[dict]) -> str:
    """The speed tables as the command prints them: the report's speed section, rendered for the terminal."""
    return render_terminal(speed_summary(rows, Path(".")))

SPEC = tasks.get_task("copying").spec  # 10 input tokens, 10 output classes


def tiny_model(name: str, spec: TaskSpec = SPEC) -> SequenceModel:
    torch.manual_seed(0)
    return models.build_model(name, spec, width=8).eval()


def prompt(batch: int = 3, length: int = 4) -> torch.Tensor:
    return torch.randint(SPEC.input_size, (batch, length), generator=generator(9))


def streaming_model(name: str) -> SequenceModel:
    """The family's tiny model; a family that cannot stream must be refused, and its test stops there."""
    model = tiny_model(name)
    if not model.streams:
        with pytest.raises(CannotSample, match="cannot stream"):
            sample(model, prompt(), 4, temperature=1.0, generator=generator(0))
        pytest.skip(f"{name} cannot stream: refused, as it must be")
    return model


def test_sampling_is_reproducible_from_the_generator_and_stays_in_the_vocabulary(model_name):
    model = streaming_model(model_name)
    tokens = sample(model, prompt(), 12, temperature=1.0, generator=generator(0))
    assert tokens.shape == (3, 12) and tokens.dtype == torch.int64
    assert ((tokens >= 0) & (tokens < SPEC.output_size)).all()
    assert torch.equal(tokens, sample(model, prompt(), 12, temperature=1.0, generator=generator(0)))
    assert not torch.equal(tokens, sample(model, prompt(), 12, temperature=1.0, generator=generator(1)))


def greedy_by_forward(model: SequenceModel, prompt: torch.Tensor, n_tokens: int) -> torch.Tensor:
    """Greedy decoding the slow way: the whole sequence through forward for every token."""
    sequence = prompt
    with torch.no_grad():
        for _ in range(n_tokens):
            next_token = model(sequence)[:, -1].argmax(-1)  # (B,)
            sequence = torch.cat([sequence, next_token[:, None]], dim=1)
    return sequence[:, prompt.shape[1] :]


def test_near_zero_temperature_is_greedy_decoding(model_name):
    model = streaming_model(model_name)
    tokens = sample(model, prompt(), 6, temperature=1e-4, generator=generator(0))
    assert torch.equal(tokens, greedy_by_forward(model, prompt(), 6))


def test_sampling_uses_only_init_state_and_step(model_name):
    model = streaming_model(model_name)

    def no_forward(*args, **kwargs):
        raise AssertionError("sampling called forward")

    model.forward = no_forward
    assert sample(model, prompt(), 5, temperature=1.0, generator=generator(0)).shape == (3, 5)


@pytest.mark.parametrize("spec, words", [
    (tasks.get_task("adding").spec, "token inputs and class outputs"),
    (TaskSpec("tokens", 5, "classes", 8, "all"), "8 classes and only 5 input tokens"),
])  # fmt: skip
def test_a_task_whose_outputs_cannot_be_fed_back_is_refused(spec, words):
    model = tiny_model("lstm", spec)
    x = torch.zeros(2, 3, spec.input_size) if spec.input_kind == "real" else torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=words):
        sample(model, x, 4, temperature=1.0, generator=generator(0))


def test_a_model_that_cannot_stream_is_refused(monkeypatch):
    monkeypatch.setattr(SequenceModel, "streams", property(lambda self: False))
    with pytest.raises(CannotSample, match="cannot stream"):
        sample(tiny_model("lstm"), prompt(), 4, temperature=1.0, generator=generator(0))


def test_window_figures_are_the_median_of_the_last_tenth_and_the_throughput_so_far():
    assert window(5) == slice(0, 5) and window(20) == slice(12, 20) and window(1000) == slice(900, 1000)
    seconds = [k / 1000 for k in range(1, 21)]  # token k took k ms
    figures = window_figures(seconds, 20, batch_size=4)
    assert figures["token_ms"] == pytest.approx(16.5)  # median of 13..20 ms
    assert figures["token_ms_iqr"] == pytest.approx(3.5)  # inclusive quartiles 14.75 and 18.25
    assert figures["window_tokens"] == 8
    assert figures["elapsed_s"] == pytest.approx(0.21)
    assert figures["tokens_per_s"] == pytest.approx(4 * 20 / 0.21)
    with pytest.raises(ValueError, match="n=21: 20 tokens"):
        window_figures(seconds, 21, batch_size=4)


# ---- the speed job, in this process ------------------------------------------------------------------------


def job(**changes) -> GenerationJob:
    fields = {"model": "lstm", "task": "copying", "lengths": (8, 16), "batch_size": 2, "params": 4000,
              "temperature": 1.0, "device": "cpu", "threads": 1, "timeout_s": 60.0}  # fmt: skip
    return GenerationJob(**{**fields, **changes})


def test_a_model_that_cannot_stream_is_a_row_per_length(monkeypatch):
    monkeypatch.setattr(SequenceModel, "streams", property(lambda self: False))
    rows = measure_generation(job())
    assert [(r["seq_len"], r["status"]) for r in rows] == [(8, "unavailable"), (16, "unavailable")]
    assert all("cannot stream" in r["error"] for r in rows)


def test_a_failure_midway_keeps_the_lengths_reached(monkeypatch):
    real_draw, calls = bench.commands.generation.draw, []

    def draw_then_fail(*args):
        calls.append(1)
        if len(calls) > 10:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")
        return real_draw(*args)

    monkeypatch.setattr(bench.commands.generation, "draw", draw_then_fail)
    rows = {r["seq_len"]: r for r in measure_generation(job())}
    assert rows[8]["status"] == "ok" and rows[8]["token_ms"] > 0
    assert rows[16]["status"] == "oom" and "after 10 tokens" in rows[16]["error"]


def test_a_job_past_its_time_limit_stops_itself():
    rows = measure_generation(job(timeout_s=1e-3))
    assert [r["status"] for r in rows] == ["timeout", "timeout"]
    assert "after 1 tokens" in rows[0]["error"]


def test_the_trained_run_is_the_longest_length_then_the_lowest_validation_loss(tmp_path):
    from bench.store.jsonl import append_record

    def record(model, seq_len, val_loss, key, **extra):
        return {"run_key": key, "task": "copying", "variant": "copying/arjovsky@1", "task_params": {"n_symbols": 10},
                "model": model, "model_options": {}, "seq_len": seq_len, "seed": 0, "val_loss": val_loss,
                "status": "ok", "checkpoint": f"{key}.pt", **extra}  # fmt: skip

    for line in [record("lstm", 8, 0.1, "a"), record("lstm", 16, 0.5, "b"), record("lstm", 16, 0.3, "c", seed=1),
                 record("lstm", 32, 0.01, "d", status="diverged"),
                 record("lstm", 64, 0.01, "e", task="adding", variant="adding/halves@1", task_params={}),
                 record("lstm", 64, 0.01, "v", variant="copying/variable@1"),
                 record("lstm", 16, 0.2, "g", checkpoint=None), record("gru", 8, None, "f")]:  # fmt: skip
        append_record(tmp_path, line)
    chosen = ResultsFolder(tmp_path).longest_trained_run("copying/arjovsky@1", {"n_symbols": 10}, {"lstm": None})
    assert {model: run["run_key"] for model, run in chosen.items()} == {"lstm": "c"}


def test_the_sampling_table_shows_each_length_the_growth_and_failures():
    def row(model, n, ms, status="ok", **extra):
        figures = {"token_ms": ms, "token_ms_iqr": 0.01, "tokens_per_s": 8000 / ms, "state_kb": 3.0} if ms else {}
        return {"model": model, "label": model, "mode": "generate", "seq_len": n, "status": status,
                "batch_size": 8, "temperature": 0.5, "source": "initialised", **figures, **extra}  # fmt: skip

    rows = [row("lstm", 256, 0.2), row("lstm", 4096, 0.2), row("transformer", 256, 0.5),
            row("transformer", 4096, None, "oom")]  # fmt: skip
    text = render_speed(rows)
    assert "Sampling (--generate, temperature 0.5, 8 sequences at once)" in text
    assert "0.200 ± 0.010 ms, 40,000 tok/s" in text and "×1.00 (n=256 → 4096)" in text and "oom" in text


# ---- end to end, through the command line -------------------------------------------------------------------


def generate_rows(out) -> list[dict]:
    return [r for r in read_records(out, SPEED_FILE) if r["mode"] == "generate"]


def test_speed_generate_writes_rows_tables_and_a_report(tmp_path, cli):
    out = tmp_path / "speed"
    argv = ["speed", "--models", "lstm,transformer", "--lengths", "32", "--repeats", "1", "--generate", "8,16",
            "--stream-tokens", "4", "--threads", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    rows = generate_rows(out)
    assert [(r["model"], r["seq_len"]) for r in rows] == [("lstm", 8), ("lstm", 16), ("transformer", 8),
                                                          ("transformer", 16)]  # fmt: skip
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    for r in rows:
        assert math.isfinite(r["token_ms"]) and r["token_ms"] > 0 and math.isfinite(r["tokens_per_s"])
        assert r["source"] == "initialised" and r["temperature"] == 1.0 and r["threads"] == 1
    state = {(r["model"], r["seq_len"]): r["state_kb"] for r in rows}
    assert state["lstm", 8] == state["lstm", 16]  # a recurrent state does not grow
    assert state["transformer", 16] > state["transformer", 8]  # the KV cache does
    assert "Sampling (--generate" in stdout
    assert cli(["report", str(out)]) == 0
    assert "Sampling (--generate" in (out / REPORT_MD).read_text()
    assert is_real_png(out / FIGURES_DIR / "sampling.png")


def test_speed_generate_from_a_run_folder_samples_its_trained_model(tmp_path, cli, tiny_args):
    trained = tmp_path / "trained"
    assert cli(tiny_args(trained, "copying", "--models", "lstm", "--steps", "3", "--lrs", "0.01,0.001")) == 0
    folder = ResultsFolder(trained)
    chosen = folder.longest_trained_run("copying/arjovsky@1", {"n_symbols": 10}, {"lstm": None})["lstm"]
    assert (trained / "checkpoints" / chosen["checkpoint"]).is_file()
    out = tmp_path / "speed"
    argv = ["speed", "--models", "lstm,gru", "--lengths", "8", "--repeats", "1", "--generate", "8", "--stream-tokens",
            "2", "--threads", "1", "--no-progress", "--from", str(trained), "--out", str(out)]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    rows = {r["model"]: r for r in generate_rows(out)}
    assert rows["lstm"]["status"] == "ok", rows["lstm"]["error"]
    assert rows["lstm"]["source"] == "trained" and rows["lstm"]["run_key"] == chosen["run_key"]
    assert rows["lstm"]["n_params"] == chosen["n_params"] and rows["lstm"]["trained_lr"] == chosen["lr"]
    assert rows["gru"]["status"] == "unavailable" and "no finished run of gru" in rows["gru"]["error"]
    assert f"run {chosen['run_key'][:12]}" in stdout


def test_old_speed_rows_render_without_a_sampling_table():
    rows = [{"model": "m", "mode": "train", "status": "ok", "seq_len": 8, "median_ms": 1.0, "iqr_ms": 0.0,
             "peak_mem_mb": 1.0}]  # fmt: skip
    assert "Sampling" not in render_speed(rows)
