"""Engines on this machine: ``inline`` in this process (tests, debugging), or each job in a child process,
``workers`` at once, each waited on by a thread of the parent; on several GPUs each worker slot owns one."""

from __future__ import annotations

import queue

import torch

from bench.engines.isolation import kill_all, run_in_child
from bench.engines.job import Context, Job, execute


class InlineEngine:
    workers = 1
    in_this_thread = True  # the pipeline calls it directly, so Ctrl-C reaches the job itself

    def __init__(self, progress: bool):
        self.progress = progress

    def run(self, job: Job) -> list[dict]:
        return execute(job, Context(fresh_process=False, progress=self.progress))

    def cancel(self) -> None:
        pass  # the job is in this thread: Ctrl-C stops it directly

    def close(self) -> None:
        pass


class LocalEngine:
    """Up to ``workers`` child processes at once; with several GPUs, a worker slot per GPU."""

    def __init__(self, workers: int, device: str, progress: bool):
        self.workers = workers
        self.progress = progress and workers == 1  # several jobs' step bars would garble one terminal
        self._gpus: queue.Queue[int | None] = queue.Queue()
        for slot in gpu_slots(workers, device):
            self._gpus.put(slot)

    def run(self, job: Job) -> list[dict]:
        gpu = self._gpus.get()
        try:
            return run_in_child(job, self.progress, gpu)
        finally:
            self._gpus.put(gpu)

    def cancel(self) -> None:
        kill_all()

    def close(self) -> None:
        pass


def gpu_slots(workers: int, device: str) -> list[int | None]:
    """One GPU per worker on a multi-GPU CUDA machine (slot i gets GPU i mod count); else no pinning."""
    count = torch.cuda.device_count() if device == "cuda" else 0
    if workers == 1 or count <= 1:
        return [None] * workers
    return [slot % count for slot in range(workers)]
