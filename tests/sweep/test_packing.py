"""``run --pack``: which runs become one job, and that a packed sweep stores the records an unpacked one would,
under the same run keys, plus ``packed_with``."""

from __future__ import annotations

from bench.config import load_run_config
from bench.store.jsonl import read_records
from bench.sweep.packing import PackedTrainingJob, pack_jobs
from bench.sweep.plan import plan
from bench.sweep.training import TrainingJob
from tests.helpers import flags


def jobs_of(**given):
    config = load_run_config(flags(task="adding", lengths="8,16", steps="2", **given))
    return plan(config), pack_jobs(plan(config))


def test_the_seeds_and_rates_of_a_packable_model_and_length_are_one_job_and_fused_rnns_stay_alone():
    specs, jobs = jobs_of(models="ssm,gru", seeds="0,1", lrs="1e-3,1e-2")
    packed = [job for job in jobs if isinstance(job, PackedTrainingJob)]
    alone = [job for job in jobs if isinstance(job, TrainingJob)]
    assert [(job.series, job.length, len(job.specs)) for job in packed] == [("ssm", 8, 4), ("ssm", 16, 4)]
    assert {job.spec.model for job in alone} == {"gru"} and len(alone) == 8
    members = [spec.run_key for job in packed for spec in job.specs] + [job.spec.run_key for job in alone]
    assert sorted(members) == sorted(spec.run_key for spec in specs)  # every planned run, once


def test_a_pack_of_one_is_a_plain_job():
    _, jobs = jobs_of(models="transformer", seeds="0")
    assert all(isinstance(job, TrainingJob) for job in jobs)


def test_a_packed_sweep_stores_the_unpacked_records_with_packed_with(tmp_path, cli, tiny_args):
    packed_out, plain_out = tmp_path / "packed", tmp_path / "plain"
    argv = ["--models", "ssm,lstm", "--seeds", "0,1", "--executor", "subprocess", "--numerics", "portable"]
    assert cli(tiny_args(packed_out, "adding", *argv, "--pack")) == 0
    assert cli(tiny_args(plain_out, "adding", *argv)) == 0
    packed = {r["run_key"]: r for r in read_records(packed_out)}
    plain = {r["run_key"]: r for r in read_records(plain_out)}
    assert packed.keys() == plain.keys() and len(packed) == 4
    for key, record in packed.items():
        assert record["status"] == plain[key]["status"] == "ok"
        assert set(record) - set(plain[key]) <= {"packed_with"}
        if record["model"] == "ssm":
            assert sorted(record["packed_with"]) == sorted(k for k, r in packed.items() if r["model"] == "ssm")
            assert abs(record["test_loss"] - plain[key]["test_loss"]) <= 1e-4 * abs(plain[key]["test_loss"])
        else:
            assert "packed_with" not in record and record["test_loss"] == plain[key]["test_loss"]
