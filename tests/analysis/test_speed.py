"""The speed tables: the harness overhead over the bare module, the scaling exponents, failures in place of
figures, and the sampling table (absent from rows written before it existed)."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.analysis.speed import harness_overhead, packing_table, scaling_exponents, si, with_achieved
from tests.helpers import render_speed


def test_harness_overhead_is_the_ratio_to_the_bare_module():
    rows = [
        {"model": "lstm", "label": label, "bare": bare, "mode": "train", "status": "ok", "seq_len": n,
         "median_ms": ms, "iqr_ms": 0.0, "peak_mem_mb": 1.0}
        for n in (16, 64) for label, bare, ms in (("lstm", False, 1.5 * n), ("lstm (bare LSTM)", True, float(n)))
    ]  # fmt: skip
    table = harness_overhead(pd.DataFrame(rows))
    assert table.loc["lstm"].tolist() == [1.5, 1.5]
    assert "Full model / its bare core layer" in render_speed(rows)


def rows_growing_as(power: float) -> list[dict]:
    return [
        {"model": "m", "mode": mode, "status": "ok", "seq_len": n, "median_ms": float(n) ** power, "iqr_ms": 0.0,
         "peak_mem_mb": float(n), "stream_token_ms": 0.1, "state_kb": 1.0}
        for mode in ("train", "infer") for n in (256, 1024, 4096)
    ]  # fmt: skip


def test_scaling_exponents_recover_the_power():
    exponents = scaling_exponents(pd.DataFrame(rows_growing_as(2.0)))
    assert exponents.loc["m", "train time"] == pytest.approx(2.0)
    assert exponents.loc["m", "infer memory"] == pytest.approx(1.0)


def test_render_shows_failures_in_place_of_figures():
    rows = rows_growing_as(1.0)
    rows[2] = {**rows[2], "status": "oom", "median_ms": None}
    text = render_speed(rows)
    assert "oom" in text


# ---- sampling (--generate) -------------------------------------------------------------------------------


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


def test_old_speed_rows_render_without_a_sampling_table():
    rows = [{"model": "m", "mode": "train", "status": "ok", "seq_len": 8, "median_ms": 1.0, "iqr_ms": 0.0,
             "peak_mem_mb": 1.0}]  # fmt: skip
    assert "Sampling" not in render_speed(rows)


def test_the_packing_speed_up_is_packed_run_steps_over_sequential_ones():
    rows = [
        {"model": "ssm", "label": "ssm", "mode": "train", "status": "ok", "seq_len": 64, "median_ms": 10.0, "pack": 1},
        {"model": "ssm", "label": "ssm", "mode": "packed", "status": "ok", "seq_len": 64, "median_ms": 20.0, "pack": 8},
        {"model": "ssm", "label": "ssm", "mode": "packed", "status": "oom", "seq_len": 256, "median_ms": None,
         "pack": 8},
    ]  # fmt: skip
    table = packing_table(pd.DataFrame(rows))
    # 8 members in 20 ms: 400 steps/s; one run alone in 10 ms: 100 steps/s
    assert table.loc["ssm", "L=64"] == "G=8: 400.0 vs 100.0 (×4.00)"
    assert table.loc["ssm", "L=256"] == "oom"
    assert packing_table(pd.DataFrame(rows[:1])).empty  # no packed rows, no table


def test_achieved_flops_are_shown_against_the_peak():
    frame = pd.DataFrame([{"flops_per_s": 2.5e9, "peak_flops_per_s": 1e11}, {"flops_per_s": None,
                                                                              "peak_flops_per_s": None}])
    achieved = with_achieved(frame)["achieved"]
    assert achieved[0] == "2.5 GFLOP/s (2.5%)" and pd.isna(achieved[1])
    assert si(1.234e12) == "1.23 T" and si(999.0) == "999 "
