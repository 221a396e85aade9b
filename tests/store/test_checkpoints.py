"""A run's weights rebuilt from its record: the final ones give its test metrics, the initial ones are those it
started from, and a run told to keep none has none."""

from __future__ import annotations

import pytest
import torch

import models
from bench.checkpoints import initial_model, initial_model_of, record_task, trained_model_of
from bench.measure.seeds import split_generator
from bench.store.files import CHECKPOINT_DIR
from bench.store.jsonl import read_records
from bench.train.evaluate import evaluate, make_eval_set


def test_a_run_keeps_its_final_weights_and_they_give_its_test_metrics(trained_folder):
    records = read_records(trained_folder)
    assert sorted((r["model"], r["seed"]) for r in records) == [("rnn", 0), ("rnn", 1), ("ssm", 0), ("ssm", 1)]
    for record in records:
        assert (trained_folder / CHECKPOINT_DIR / record["checkpoint"]).is_file()
        task = record_task(record)
        test_set = make_eval_set(
            task,
            record["test_size"],
            record["seq_len"],
            split_generator(record["seed"], "test", record["variant"], record["seq_len"]),
        )
        metrics = evaluate(trained_model_of(record, trained_folder), task, test_set)
        assert metrics["loss"] == pytest.approx(record["test_loss"], rel=1e-5)
        initial = initial_model_of(record)
        assert models.count_parameters(initial) == record["n_params"]
        assert evaluate(initial, task, test_set)["loss"] != pytest.approx(record["test_loss"], rel=1e-5)


def test_the_initial_weights_are_the_ones_the_run_started_from(tmp_path, cli, tiny_args, monkeypatch):
    import bench.sweep.training

    started = {}

    def keep_a_copy(name, spec, **kwargs):
        model = initial_model(name, spec, **kwargs)
        started[name] = {key: value.clone() for key, value in model.state_dict().items()}
        return model

    monkeypatch.setattr(bench.sweep.training, "initial_model", keep_a_copy)
    assert cli(tiny_args(tmp_path / "r", "adding", "--models", "gru,seq2seq", "--seeds", "3")) == 0
    records = read_records(tmp_path / "r")
    assert [r["model"] for r in records] == ["gru", "seq2seq"] and sorted(started) == ["gru", "seq2seq"]
    for record in records:
        rebuilt = initial_model_of(record).state_dict()
        assert rebuilt.keys() == started[record["model"]].keys()
        assert all(torch.equal(rebuilt[key], started[record["model"]][key]) for key in rebuilt)


def test_no_checkpoints_keeps_no_weights(tmp_path, cli, tiny_args):
    assert cli(tiny_args(tmp_path / "r", "adding", "--models", "lstm", "--no-checkpoints")) == 0
    (record,) = read_records(tmp_path / "r")
    assert record["checkpoint"] is None and not (tmp_path / "r" / CHECKPOINT_DIR).exists()
    with pytest.raises(FileNotFoundError, match="kept no weights"):
        trained_model_of(record, tmp_path / "r")
