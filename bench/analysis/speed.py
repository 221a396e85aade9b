"""The speed command's tables, printed and in the report: costs against length, the harness overhead, the
scaling exponents and, with ``--generate``, the sampling cost. From the rows of ``speed.jsonl`` alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = {  # (mode, column) -> (table title, cell format)
    ("train", "median_ms"): ("Training step, ms (median ± IQR)", "{median_ms:.1f} ± {iqr_ms:.1f}"),
    ("train", "peak_mem_mb"): ("Training peak memory, MB", "{peak_mem_mb:.0f}"),
    ("infer", "median_ms"): ("Inference forward, ms (median ± IQR)", "{median_ms:.1f} ± {iqr_ms:.1f}"),
    ("infer", "peak_mem_mb"): ("Inference peak memory, MB", "{peak_mem_mb:.0f}"),
    ("infer", "stream_token_ms"): ("Streaming, ms per token (state KB)", "{stream_token_ms:.3f} ({state_kb:.0f})"),
    ("train", "achieved"): ("Training step, achieved FLOP/s (share of the measured matmul peak)", "{achieved}"),
    ("infer", "achieved"): ("Inference forward, achieved FLOP/s (share of the measured matmul peak)", "{achieved}"),
}
FLOPS_NOTE = (
    "FLOPs are those torch's FlopCounterMode counts: matrix products, convolutions and attention, forward and "
    "backward; FFTs, scans and elementwise work are not counted, so for the SSM and the scan-based models the "
    "figure is a lower bound. The peak is a square fp32 (or bf16) matmul timed on the same device and threads."
)
EXPONENT_COLUMNS = {
    "train time": ("train", "median_ms"),
    "train memory": ("train", "peak_mem_mb"),
    "infer time": ("infer", "median_ms"),
    "infer memory": ("infer", "peak_mem_mb"),
}


def speed_tables(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(title, table) for each cost the speed command measures, the harness overhead and the exponents."""
    frame = with_achieved(with_labels(frame))
    tables = []
    for (mode, column), (title, cell) in COLUMNS.items():
        if column not in frame:
            continue
        measured = (frame["mode"] == mode) & ~((frame["status"] == "ok") & frame[column].isna())
        tables.append((title, _table(frame[measured], cell)))
    packing = packing_table(frame)
    if not packing.empty:
        tables.append((PACKING_TITLE, packing))
    overhead = harness_overhead(frame)
    if not overhead.empty:
        tables.append(
            ("Full model / its bare core layer, training step time (for the RNNs: what the harness adds)", overhead)
        )
    title = "Scaling exponent k in cost ~ L^k (least-squares fit of log cost on log L over the lengths that ran)"
    tables.append((title, scaling_exponents(frame)))
    sampling = sampling_table(frame)
    if not sampling.empty:
        tables.append((sampling_title(frame), sampling))
    return tables


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows written before bare modules existed carry no label: theirs is the model's name."""
    if "label" not in frame:
        return frame.assign(label=frame["model"])
    return frame.assign(label=frame["label"].fillna(frame["model"]))


def _table(rows: pd.DataFrame, cell: str, column: str = "L") -> pd.DataFrame:
    cells: dict[str, dict[str, str]] = {}
    for row in rows.to_dict("records"):
        text = cell.format(**row) if row["status"] == "ok" else row["status"]
        cells.setdefault(row["label"], {})[f"{column}={row['seq_len']}"] = text
    return pd.DataFrame.from_dict(cells, orient="index")


def si(value: float) -> str:
    """1.23e10 -> '12.3 G'."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}"
    return f"{value:.3g} "


def with_achieved(frame: pd.DataFrame) -> pd.DataFrame:
    """The text of achieved FLOP/s and its share of the peak, where the rows have them (written since FLOPs were
    counted)."""
    if "flops_per_s" not in frame or "peak_flops_per_s" not in frame:
        return frame
    texts = [
        f"{si(achieved)}FLOP/s ({achieved / peak:.1%})" if pd.notna(achieved) and pd.notna(peak) and peak else None
        for achieved, peak in zip(frame["flops_per_s"], frame["peak_flops_per_s"], strict=True)
    ]
    return frame.assign(achieved=texts)


PACKING_TITLE = (
    "Packed training (--pack G): training steps per second of all G members together against G runs one after "
    "another (1 / the single run's step time), and the speed-up"
)


def packing_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and length where both ran: packed run-steps/s, sequential run-steps/s and their ratio."""
    if "mode" not in frame or not (frame["mode"] == "packed").any() or "median_ms" not in frame:
        return pd.DataFrame()
    ok = frame[frame["status"] == "ok"].drop_duplicates(["label", "mode", "seq_len"], keep="last")
    single = ok[ok["mode"] == "train"].set_index(["label", "seq_len"])["median_ms"]
    cells: dict[str, dict[str, str]] = {}
    for row in frame[frame["mode"] == "packed"].to_dict("records"):
        column = f"L={row['seq_len']}"
        if row["status"] != "ok":
            cells.setdefault(row["label"], {})[column] = row["status"]
            continue
        alone = single.get((row["label"], row["seq_len"]))
        packed = row["pack"] * 1e3 / row["median_ms"]
        text = f"G={row['pack']}: {packed:.1f} vs "
        text += f"{1e3 / alone:.1f} (×{packed * alone / 1e3:.2f})" if alone is not None else "? (no train row)"
        cells.setdefault(row["label"], {})[column] = text
    return pd.DataFrame.from_dict(cells, orient="index")


SAMPLING_CELL = "{token_ms:.3f} ± {token_ms_iqr:.3f} ms, {tokens_per_s:,.0f} tok/s"


def sampling_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``--generate`` (none in a folder written before it existed)."""
    if "mode" not in frame:
        return frame.iloc[0:0]
    return with_labels(frame[frame["mode"] == "generate"])


def sampling_title(frame: pd.DataFrame) -> str:
    rows = sampling_rows(frame)
    temperatures = ", ".join(f"{t:g}" for t in dict.fromkeys(rows["temperature"]))
    batches = ", ".join(str(b) for b in dict.fromkeys(rows["batch_size"]))
    return (
        f"Sampling (--generate, temperature {temperatures}, {batches} sequences at once): ms per token at generated "
        "length n (median ± IQR of the last 10% of tokens before n), and tokens/s over all sequences' first n tokens"
    )


def sampling_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model: token latency and tokens/s at each generated length, how latency grows, and the weights."""
    rows = sampling_rows(frame)
    if rows.empty:
        return pd.DataFrame()
    measured = rows[~((rows["status"] == "ok") & rows["token_ms"].isna())] if "token_ms" in rows else rows
    table = _table(measured, SAMPLING_CELL, column="n")
    growth, state, weights = {}, {}, {}
    for label, group in rows.groupby("label", sort=False):
        ok = group[group["status"] == "ok"].dropna(subset=["token_ms"]) if "token_ms" in group else group.iloc[0:0]
        ok = ok.drop_duplicates("seq_len", keep="last").sort_values("seq_len")
        if len(ok) >= 2:
            first, last = ok.iloc[0], ok.iloc[-1]
            growth[label] = f"×{last['token_ms'] / first['token_ms']:.2f} (n={first['seq_len']} → {last['seq_len']})"
            state[label] = f"{_kb(first['state_kb'])} → {_kb(last['state_kb'])}"
        weights[label] = _weights(group.iloc[-1])
    return table.assign(**{
        "latency growth": [growth.get(label, "") for label in table.index],
        "state KB": [state.get(label, "") for label in table.index],
        "weights": [weights[label] for label in table.index],
    })  # fmt: skip


def _kb(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"  # a tiny model's state is under 1 KB


def _weights(row: pd.Series) -> str:
    if row.get("source") != "trained":
        return "initialised"
    if not isinstance(row.get("run_key"), str):
        return "trained: none found"
    return f"trained at T={row['trained_seq_len']:.0f}, lr {row['trained_lr']:g} (run {row['run_key'][:12]})"


def harness_overhead(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model with a bare row, the ratio of training step times at each length."""
    if "bare" not in frame or "median_ms" not in frame:  # no bare rows, or no step that ran
        return pd.DataFrame()
    train = frame[(frame["mode"] == "train") & (frame["status"] == "ok")]
    times = train.pivot_table(index=["model", "seq_len"], columns="bare", values="median_ms")
    if True not in times or False not in times:
        return pd.DataFrame()
    ratio = (times[False] / times[True]).dropna()
    return ratio.unstack("seq_len").rename(columns=lambda n: f"L={n}")


def scaling_exponents(frame: pd.DataFrame) -> pd.DataFrame:
    """Per row label (model), the slope of log(cost) on log(length), where at least two lengths ran."""
    frame = with_labels(frame)
    exponents: dict[str, dict[str, float]] = {}
    for model in dict.fromkeys(frame["label"]):
        for name, (mode, column) in EXPONENT_COLUMNS.items():
            ok = frame[(frame["label"] == model) & (frame["mode"] == mode) & (frame["status"] == "ok")]
            ok = ok[ok[column].notna() & (ok[column] > 0)] if column in ok else ok.iloc[0:0]
            ok = ok.drop_duplicates("seq_len", keep="last")  # a fit needs distinct lengths (a rerun supersedes)
            slope = float("nan")
            if len(ok) >= 2:
                slope = float(np.polyfit(np.log(ok["seq_len"]), np.log(ok[column].astype(float)), 1)[0])
            exponents.setdefault(model, {})[name] = slope
    return pd.DataFrame.from_dict(exponents, orient="index")
