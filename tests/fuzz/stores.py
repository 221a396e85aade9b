"""Results folders for the report to survive: real records, then mutated.

The records are real: the store of ``tests/helpers.known_store`` (schema 2), the reference results as first
committed (``tests/store/fixtures/schema-1``: runs of schema 1 and gradient curves from before curves carried a
schema), speed rows as ``bench speed`` writes them, before and at schema 1, ``--generate`` rows and schema-1
curves. A mutation then drops a field, nulls it, writes NaN or Infinity into it, gives it a wrong type, an
unknown status or schema, replaces a line by JSON that is not an object, by bytes that are not UTF-8 or by
garbage, tears the last line, repeats lines, adds blank ones, or empties the file.

Each drawn folder comes with the lines that must be listed as unreadable whatever the schema models say (torn,
not JSON, not an object, NaN, an unknown status): the report must list at least those.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

import tasks
from bench.store.files import GRADIENTS_FILE, MANIFEST_FILE, RUNS_FILE, SPEED_FILE
from bench.store.schemas import JOB_STATUSES, RUN_STATUSES, SPEED_STATUSES
from tests.helpers import ROOT, failed_record, run_record, speed_row

REFERENCE = ROOT / "tests" / "store" / "fixtures" / "schema-1"  # the reference as first committed
STATUSES = {RUNS_FILE: RUN_STATUSES, SPEED_FILE: SPEED_STATUSES, GRADIENTS_FILE: JOB_STATUSES}


def _reference(name: str, filename: str, n: int) -> list[dict]:
    path = REFERENCE / name / filename
    return [json.loads(line) for line in path.read_text().splitlines()[:n]] if path.is_file() else []


def _with_facts_of_today(record: dict) -> dict:
    """A run record as schema 2 writes it: the task's facts, the baselines and the model's traits stored."""
    task = tasks.get_task(record["task"])
    return {**record, "schema": 2, **task.facts(), "model_traits": ["fixed_state", "gated", "recurrent"]}


def _run_records() -> list[dict]:
    lengths = [{"seq_len": 16, "status": "ok", "loss": 0.2, "accuracy": 0.3},
               {"seq_len": 32, "status": "oom", "error": "OutOfMemoryError"}]  # fmt: skip
    schema_2 = [
        run_record("lstm", 8, 0, 0.01, 0.004), run_record("lstm", 8, 1, 0.001, 0.05),
        run_record("lstm", 16, 0, 0.01, 0.002), run_record("ssm", 8, 0, 0.01, 0.008),
        run_record("ssm", 8, 1, 0.01, 0.1, eval_lengths_results=lengths),
        failed_record("ssm", 16, 0, "oom", "OutOfMemoryError: CUDA out of memory"),
        failed_record("ssm", 16, 1, "skipped", "not attempted: ssm ran out of memory at T=16"),
    ]  # fmt: skip
    schema_2 = [{"schema": 2, **r} for r in schema_2] + [_with_facts_of_today(run_record("gru", 8, 2, 0.01, 0.3))]
    schema_1 = _reference("adding-quick", RUNS_FILE, 3) + _reference("copying-quick", RUNS_FILE, 2)
    return schema_2 + schema_1


def _speed_rows() -> list[dict]:
    rows = [speed_row(model, mode, n) for model in ("lstm", "ssm") for mode in ("train", "infer") for n in (64, 256)]
    rows.append(speed_row("ssm", "train", 1024, status="oom"))
    rows = [{**r, "bare": False, "schema": 1} for r in rows[:6]] + [
        {k: v for k, v in r.items() if k != "label"} for r in rows[6:]  # rows written before schema and labels
    ]
    generate = {"schema": 1, "model": "lstm", "label": "lstm", "mode": "generate", "status": "ok", "error": None,
                "batch_size": 8, "temperature": 1.0, "source": "trained", "run_key": "lstm-8-0-0.01",
                "trained_seq_len": 8, "trained_lr": 0.01, "token_ms": 0.2, "token_ms_iqr": 0.01,
                "tokens_per_s": 4e4, "state_kb": 3.0}  # fmt: skip
    rows += [{**generate, "seq_len": 16}, {**generate, "seq_len": 32, "token_ms": 0.3}]
    rows.append({**generate, "seq_len": 64, "status": "timeout", "error": "time limit after 40 tokens",
                 "token_ms": None, "tokens_per_s": None})  # fmt: skip
    return rows


def _gradient_curves() -> list[dict]:
    old = _reference("adding-quick", GRADIENTS_FILE, 4)
    new = [{**c, "schema": 1, "model_traits": ["fixed_state", "recurrent"]} for c in old[:2]]
    failed = {**old[0], "schema": 1, "model_traits": ["recurrent"], "status": "oom", "error": "out of memory",
              "grad_norm": None, "decay": None, "fit_r2": None, "reach": None, "seed": 7}  # fmt: skip
    return old + new + [failed]


BASE = {RUNS_FILE: _run_records(), SPEED_FILE: _speed_rows(), GRADIENTS_FILE: _gradient_curves()}

WRONG = st.one_of(
    st.sampled_from(["", "8", "ok", "nan", [], {}, [1, 2], {"a": 1}, True, False, 0, -1, 2**64, 1.5, -0.5, "é" * 50]),
    st.text(max_size=10),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False),
)
NOT_OBJECTS = ["3", "[]", "null", '"x"', "true", "[1, 2]", "-0.5"]


@dataclass
class StoreFile:
    lines: list[bytes] = field(default_factory=list)
    torn: bool = False  # the last line has no end
    bad: set[int] = field(default_factory=set)  # line numbers that must be listed as unreadable


def _line(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True).encode()  # allow_nan: NaN and Infinity tokens, as a foreign writer


@st.composite
def store_files(draw, filename: str) -> StoreFile:
    """One file of the folder: some of its base records (repeats allowed), then a few mutations."""
    base = BASE[filename]
    records = [dict(base[i]) for i in draw(st.lists(st.integers(0, len(base) - 1), min_size=1, max_size=6))]
    out = StoreFile([_line(r) for r in records])
    for _ in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(out.lines) - 1))
        kind = draw(st.sampled_from(["drop", "null", "nonfinite", "type", "type", "status", "schema", "nested",
                                     "not-object", "garbage", "not-utf8", "repeat", "blank", "crlf"]))  # fmt: skip
        try:
            record = json.loads(out.lines[index])
        except ValueError:  # an earlier mutation left no JSON object here
            continue
        if not isinstance(record, dict) or not record:
            continue
        key = draw(st.sampled_from(sorted(record)))
        if kind == "drop":
            del record[key]
        elif kind == "null":
            record[key] = None
        elif kind == "nonfinite":
            record[key] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
            out.bad.add(index)
        elif kind == "type":
            record[key] = draw(WRONG)
        elif kind == "status":
            record["status"] = draw(st.one_of(st.sampled_from(["OK", "finished", "diverged", "unavailable", ""]),
                                              st.text(max_size=6)))  # fmt: skip
            if record["status"] not in STATUSES[filename]:
                out.bad.add(index)
        elif kind == "schema":
            record["schema"] = draw(st.sampled_from([0, 1, 2, 3, "2", None, True, 1.0, -1]))
        elif kind == "nested":
            nested = [k for k in ("curve", "eval_lengths_results", "grad_norm", "model_traits", "task_params")
                      if isinstance(record.get(k), list | dict) and record[k]]  # fmt: skip
            if nested:
                inner = record[draw(st.sampled_from(nested))]
                slots = range(len(inner)) if isinstance(inner, list) else sorted(inner)
                slot = draw(st.sampled_from(slots))
                inner[slot] = draw(st.one_of(WRONG, st.just(None)))
        if kind in ("not-object", "garbage", "not-utf8"):
            if kind == "not-object":
                out.lines[index] = draw(st.sampled_from(NOT_OBJECTS)).encode()
            elif kind == "garbage":
                out.lines[index] = draw(st.text(min_size=1, max_size=20)).encode().replace(b"\n", b" ")
            else:
                at = draw(st.integers(0, len(out.lines[index])))
                out.lines[index] = out.lines[index][:at] + b"\xff\xfe" + out.lines[index][at:]
            if kind != "garbage" or _not_an_object(out.lines[index]):
                out.bad.add(index)
        elif kind == "repeat":
            out.lines.insert(index, out.lines[index])
            out.bad = {b + 1 if b >= index else b for b in out.bad}
        elif kind == "blank":
            out.lines.insert(index, draw(st.sampled_from([b"", b"   ", b"\t"])))
            out.bad = {b + 1 if b >= index else b for b in out.bad}
        elif kind == "crlf":
            out.lines[index] = _line(record) + b"\r"
        else:
            out.lines[index] = _line(record)
    if draw(st.integers(0, 4)) == 0:  # a write cut short
        last = out.lines[-1]
        end = len(last.rstrip())  # cut before the closing brace: what is left is never a whole object
        if end > 1 and last.strip().startswith(b"{"):
            out.lines[-1] = last[: draw(st.integers(1, end - 1))]
            out.torn = True
            out.bad.add(len(out.lines) - 1)
    return out


def _not_an_object(line: bytes) -> bool:
    if not line.strip():
        return False
    try:
        return not isinstance(json.loads(line), dict)
    except ValueError:
        return True


MANIFESTS = [
    None,
    b'{"schema": 2, "invocations": [{"config": {"preset": "quick"}, "n_runs": 10}]}',
    b'{"config": {"preset": "standard"}, "n_runs": 3}',  # one flat invocation, as written before manifests had history
    b"", b"{", b"[]", b"3", b'{"invocations": 3}', b'{"invocations": [{"config": 3}]}', b'{"invocations": [7]}',
    b"\xff\xfe", b'{"schema": 2, "invocations": []}',
]  # fmt: skip


@dataclass
class Store:
    files: dict[str, StoreFile | bytes | None]  # None: absent; bytes: raw content (an empty file)
    manifest: bytes | None

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for filename, content in self.files.items():
            if isinstance(content, StoreFile):
                text = b"\n".join(content.lines) + (b"" if content.torn else b"\n")
                (folder / filename).write_bytes(text)
            elif isinstance(content, bytes):
                (folder / filename).write_bytes(content)
        if self.manifest is not None:
            (folder / MANIFEST_FILE).write_bytes(self.manifest)

    def must_be_listed(self) -> list[tuple[str, int]]:
        """(file, line number) of every line that is unreadable whatever the schema models say."""
        return [
            (filename, index + 1)
            for filename, content in self.files.items()
            if isinstance(content, StoreFile)
            for index in sorted(content.bad)
        ]


@st.composite
def stores(draw) -> Store:
    """A folder: each file absent, empty, as written or mutated; a manifest, real or broken."""
    files: dict[str, StoreFile | bytes | None] = {}
    for filename in BASE:
        shape = draw(st.sampled_from(["absent", "empty", "kept", "mutated", "mutated"]))
        if shape == "absent":
            files[filename] = None
        elif shape == "empty":
            files[filename] = draw(st.sampled_from([b"", b"\n", b"\n\n  \n"]))
        else:
            files[filename] = StoreFile([_line(r) for r in BASE[filename]]) if shape == "kept" else draw(
                store_files(filename)
            )
    return Store(files, draw(st.sampled_from(MANIFESTS)))
