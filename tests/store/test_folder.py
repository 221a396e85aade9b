"""``ResultsFolder``: which trained run a command picks, and the newest of each gradient curve."""

from __future__ import annotations

from bench.store.files import GRADIENTS_FILE
from bench.store.folder import ResultsFolder
from bench.store.jsonl import append_record


def test_the_trained_run_is_the_longest_length_then_the_lowest_validation_loss(tmp_path):
    def record(model, seq_len, val_loss, key, **extra):
        return {"run_key": key, "task": "copying", "variant": "copying/arjovsky@1", "task_params": {"n_symbols": 10},
                "model": model, "model_options": {}, "seq_len": seq_len, "seed": 0, "lr": 0.01, "val_loss": val_loss,
                "test_accuracy": 0.5, "solved": False, "status": "ok", "checkpoint": f"{key}.pt", **extra}  # fmt: skip

    for line in [record("lstm", 8, 0.1, "a"), record("lstm", 16, 0.5, "b"), record("lstm", 16, 0.3, "c", seed=1),
                 record("lstm", 32, 0.01, "d", status="diverged"),
                 record("lstm", 64, 0.01, "e", task="adding", variant="adding/halves@1", task_params={}),
                 record("lstm", 64, 0.01, "v", variant="copying/variable@1"),
                 record("lstm", 16, 0.2, "g", checkpoint=None), record("gru", 8, None, "f")]:  # fmt: skip
        append_record(tmp_path, line)
    chosen = ResultsFolder(tmp_path).longest_trained_run("copying/arjovsky@1", {"n_symbols": 10}, {"lstm": None})
    assert {model: run["run_key"] for model, run in chosen.items()} == {"lstm": "c"}


def test_a_curve_measured_again_replaces_the_older_one(tmp_path):
    curve = {"task": "adding", "variant": "adding/halves@1", "task_params": {}, "model": "rnn",
             "model_options": {"layers": 1}, "model_traits": ["recurrent"], "seq_len": 5, "seed": 0, "state": "init",
             "n_sequences": 8, "status": "ok", "grad_norm": [1.0, 0.5], "decay": 1.0, "fit_r2": 0.9, "reach": -1.0,
             "clipped_frac": None}  # fmt: skip
    append_record(tmp_path, {**curve, "key": "before", "trained_run_key": None}, GRADIENTS_FILE)
    append_record(tmp_path, {**curve, "key": "after", "trained_run_key": "abc"}, GRADIENTS_FILE)
    assert [curve["key"] for curve in ResultsFolder(tmp_path).gradient_curves()] == ["after"]
