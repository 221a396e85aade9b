"""Built-in models keep their run keys: every committed results folder, planned again from the configuration its
manifest records for each `run`, gives the very run keys that invocation recorded (so rerunning a committed command
resumes and runs nothing)."""

from __future__ import annotations

import json

import pytest

from bench.config import RunConfig
from bench.sweep.plan import plan
from tests.helpers import ROOT

MANIFESTS = sorted((ROOT / "results").rglob("manifest.json"))


def run_invocations() -> list[tuple[str, int, dict]]:
    found = []
    for path in MANIFESTS:
        invocations = json.loads(path.read_text()).get("invocations", [])
        for i, invocation in enumerate(invocations):
            if invocation.get("command") == "run" and invocation.get("run_keys"):
                found.append((str(path.parent.relative_to(ROOT)), i, invocation))
    return found


INVOCATIONS = run_invocations()


def test_the_committed_results_hold_run_invocations():
    assert len(INVOCATIONS) >= 2  # results/reference: adding and copying at the quick preset at least


@pytest.mark.parametrize(("folder", "index", "invocation"), INVOCATIONS, ids=[f"{f}#{i}" for f, i, _ in INVOCATIONS])
def test_replanning_a_committed_run_gives_its_recorded_keys(folder, index, invocation):
    config = {k: v for k, v in invocation["config"].items() if k in RunConfig.model_fields}
    config.update(device="cpu", executor="inline", numerics="native", timeout_s=None, memory_limit_mb=None,
                  workers=None)  # where it ran is not part of a key  # fmt: skip
    for name in ("ray_address", "cpus_per_run", "gpus_per_run", "partition", "time_min", "slurm_cluster"):
        config.pop(name, None)
    keys = [spec.run_key for spec in plan(RunConfig(**config))]
    assert keys == invocation["run_keys"]
