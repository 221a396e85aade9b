"""One planned run as a job: divergence and errors are records, a checkpoint that cannot be written loses
nothing else, the same command gives bit-identical metrics, and the first batch is pinned per task."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import torch

import models
import tasks
from bench.config import load_run_config
from bench.config.presets import preset_task_params
from bench.measure.seeds import split_generator
from bench.store.jsonl import append_record, read_records
from bench.sweep.plan import RunSpec, plan
from bench.sweep.training import data_stream, run_one
from tests.helpers import TASK_VARIANTS, TINY_BUDGET

# ---- divergence and failures are results -----------------------------------------------------


def tiny_spec(model: str = "gru", **options) -> RunSpec:
    return RunSpec(
        task="adding", variant="adding/halves@1", task_params={}, model=model,
        model_options={**models.model_options(model), **options}, seq_len=8, seed=0, lr=1e-3, budget=TINY_BUDGET,
        threads=1,
    )  # fmt: skip


def test_run_one_records_divergence(nan_loss_from_step_3, tmp_path):
    record = run_one(tiny_spec(), progress=False)
    assert record["status"] == "diverged"
    assert record["diverged_step"] == 3
    assert record["solved"] is False
    append_record(tmp_path, record)  # NaN metrics go to the store as null
    (stored,) = read_records(tmp_path)
    assert stored["status"] == "diverged" and stored["test_loss"] is None


def test_run_one_records_an_error():
    record = run_one(tiny_spec("ssm", state_size=3), progress=False)
    assert record["status"] == "error"
    assert "state_size" in record["error"]
    assert record["model"] == "ssm" and "wall_s" in record


def test_a_checkpoint_that_cannot_be_written_does_not_lose_the_run(tmp_path, cli, tiny_args, monkeypatch):
    import bench.sweep.training

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bench.sweep.training, "save_checkpoint", disk_full)
    assert cli(tiny_args(tmp_path / "r", "adding", "--models", "lstm")) == 0
    (record,) = read_records(tmp_path / "r")
    assert record["status"] == "ok" and record["checkpoint"] is None and "No space" in record["checkpoint_error"]


# ---- determinism ---------------------------------------------------------------------------------

TIMING_FIELDS = {"wall_s", "started_at", "finished_at", "train_step_ms", "train_step_ms_iqr", "first_step_ms",
                 "train_tokens_per_s", "infer_tokens_per_s", "train_s", "seconds_to_solve", "command"}  # fmt: skip


def test_the_same_command_gives_bit_identical_metrics(tmp_path, cli, tiny_args):
    runs = []
    for name in ("a", "b"):
        assert cli(tiny_args(tmp_path / name, "copying", "--steps", "8")) == 0
        runs.append([{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in read_records(tmp_path / name)])
    assert runs[0] == runs[1]
    assert all(r["status"] == "ok" for r in runs[0])


# sha256 of the first training batch (seed 0, T=16, batch 4, quick's task parameters) as the runner draws it.
# A change here is a change to every result: bump the task's variant version instead of updating the number.
# (adding/halves@1 and copying/arjovsky@1 have kept theirs since batches were first fingerprinted.)
FIRST_BATCH_SHA256 = {
    "adding/halves@1": "2b61cc382c56ff9a36f5039f2883d265d7dca89da268e517226b646c073a9691",
    "adding/tcn@1": "7ab4bd593426c34dfce6831c5d043b0b064aae3a34cf68a45459a7541a233cb2",
    "copying/arjovsky@1": "92c4071b36b750da44c5af00f41504d4395927a8b4b075337c64e162d6ca4eab",
    "copying/variable@1": "d72ba2e998a70573164b5199f531d126553079276224c984edba6076554a6fb2",
    "copying/tcn@1": "5faab46673f579f32e6a957f1a07d26bdc2072d0b819d9d29a1bee8761459bee",
    "selective_copying/mamba@2": "f7d1019ff17b491fc355dc110ed889139640a44fef26ea22db6dd1556c01d278",
    "selective_copying/delimited@1": "f96cda717e4f766f1a625dd7fa0aa088b672762a72bb0f73edc745b773cd60fb",
    "associative_recall/mqar-small@1": "a6d8a51fbaea2e593aed324ec4b5973ab109e9903d116e7348fee24de55ea1cf",
    "associative_recall/zoology@1": "41bdb41b6d6543ce57eea005066fd02c9719d8b53218d2ff27211bb36fe9322b",
    "induction_heads/mamba@1": "65875a072494e723a9a3fe235deeb75fa5bc11447791a2af46b8b0b800cb70db",
}


def first_batch(name: str, variant: str) -> tuple[str, str]:
    """The variant id and the sha256 of the first training batch of seed 0, at the quick preset's parameters."""
    task = tasks.get_task(name, variant=variant, **preset_task_params("quick", name, variant))
    length = max(16, task.min_length)
    batch = task.sample(4, length, generator=split_generator(0, "train", task.variant_id, length))
    digest = hashlib.sha256()
    for tensor in (batch.x, batch.y, batch.mask):
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return task.variant_id, digest.hexdigest()


@pytest.mark.parametrize(("name", "variant"), TASK_VARIANTS)
def test_first_training_batch_fingerprint(name, variant):
    variant_id, digest = first_batch(name, variant)
    assert digest == FIRST_BATCH_SHA256[variant_id]


def test_a_sweep_draws_the_fingerprinted_batch():
    spec = plan(load_run_config({"task": "adding", "models": "lstm", "lengths": "16", "batch_size": "4"}))[0]
    batch = tasks.get_task("adding", **spec.task_params).sample(4, 16, generator=data_stream(spec, "train"))
    task = tasks.get_task("adding")
    expected = task.sample(4, 16, generator=split_generator(0, "train", task.variant_id, 16))
    assert all(torch.equal(a, b) for a, b in zip(batch, expected, strict=True))


def test_every_variant_has_a_fingerprint():
    assert set(FIRST_BATCH_SHA256) == {tasks.get_task(n, variant=v).variant_id for n, v in TASK_VARIANTS}


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_run_draws_its_data_on_the_cpu_whatever_its_device(device):
    # The same run key means the same data on every device: CUDA's own generator (Philox) would draw other data.
    spec = dataclasses.replace(tiny_spec(), device=device)
    for split in ("train", "val", "test"):
        assert data_stream(spec, split).device.type == "cpu"
    cpu = data_stream(dataclasses.replace(tiny_spec(), device="cpu"), "train")
    assert data_stream(spec, "train").initial_seed() == cpu.initial_seed()
