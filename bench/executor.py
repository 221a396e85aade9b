"""Where runs execute: ``inline`` in this process (tests), or ``subprocess``, one process per run.

The subprocess executor forks each run from a forkserver: a clean process that imports
torch once and never computes. Forking the sweep's own process instead can deadlock
(GNU OpenMP is not fork-safe once a parallel region has run), and a fresh interpreter per
run costs ~2.5 s; a forkserver child starts in ~0.1 s. Each run then has its own memory
peak, and a crash or a kill takes down one run, not the sweep.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection

from bench.plan import RunSpec
from bench.runner import identity_record, run_one

OnRecord = Callable[[RunSpec, dict], None]


def run_inline(specs: Iterable[RunSpec], on_record: OnRecord, *, progress: bool = True) -> None:
    for spec in specs:
        on_record(spec, run_one(spec, fresh_process=False, progress=progress))


def run_subprocess(specs: Iterable[RunSpec], on_record: OnRecord, *, progress: bool = True) -> None:
    context = multiprocessing.get_context("forkserver")
    # torch.optim imports torch._dynamo lazily on first use (~2 s): import it once in the server, not per run.
    context.set_forkserver_preload(["bench.runner", "torch._dynamo"])
    for spec in specs:
        on_record(spec, _run_in_child(context, spec, progress))


def _child_main(spec: RunSpec, progress: bool, conn: Connection) -> None:
    conn.send(run_one(spec, fresh_process=True, progress=progress))
    conn.close()


def _run_in_child(context, spec: RunSpec, progress: bool) -> dict:
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(spec, progress, sender), daemon=True)
    process.start()
    sender.close()  # the child holds the only writer: EOF on the reader means the child is gone
    try:
        record = receiver.recv()
    except EOFError:
        record = None
    process.join()
    if record is None:
        record = _lost_run_record(spec, process.exitcode)
    return record


def _lost_run_record(spec: RunSpec, exitcode: int | None) -> dict:
    """The child died before reporting: SIGKILL is most often the kernel's out-of-memory killer."""
    killed = exitcode == -9
    return {
        **identity_record(spec),
        "status": "oom" if killed else "error",
        "error": f"run process exited with code {exitcode}" + (" (killed: out of memory?)" if killed else ""),
        "device": spec.device,
    }


EXECUTORS: dict[str, Callable[..., None]] = {"inline": run_inline, "subprocess": run_subprocess}
