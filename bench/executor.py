"""Where runs execute: ``inline`` in this process (tests), or ``subprocess``, one process per run.

The subprocess executor forks each run from a forkserver: a clean process that imports
torch once and never computes. Forking the sweep's own process instead can deadlock
(GNU OpenMP is not fork-safe once a parallel region has run), and a fresh interpreter per
run costs ~2.5 s; a forkserver child starts in ~0.1 s. Each run then has its own memory
peak, and a crash or a kill takes down one run, not the sweep.

Each child leads its own process group, so the parent can kill everything a run started
when it passes ``timeout_s`` or when the sweep is interrupted.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from tqdm.auto import tqdm

from bench.plan import RunSpec
from bench.runner import identity_record, run_one

Executor = Callable[[RunSpec, bool], dict]  # (spec, progress) -> record


def run_inline(spec: RunSpec, progress: bool) -> dict:
    return run_one(spec, fresh_process=False, progress=progress)


@functools.cache
def _forkserver():
    context = multiprocessing.get_context("forkserver")
    # torch.optim imports torch._dynamo lazily on first use (~2 s): import it once in the server, not per run.
    context.set_forkserver_preload(["bench.runner", "torch._dynamo"])
    return context


def run_subprocess(spec: RunSpec, progress: bool) -> dict:
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    parent_alive, keep_alive = context.Pipe(duplex=False)  # EOF in the child: this process is gone
    process = context.Process(target=_child_main, args=(spec, progress, sender, parent_alive), daemon=True)
    process.start()
    sender.close()  # the child holds the only writer: EOF on the reader means the child is gone
    parent_alive.close()
    record = None
    try:
        if receiver.poll(spec.timeout_s):  # True on a message and on EOF; None waits without limit
            record = _receive(receiver)
        else:
            _kill_group(process)
            record = _failed_record(spec, "timeout", f"killed after the {spec.timeout_s:g} s time limit (timeout_s)")
    finally:
        if process.is_alive():  # interrupted (Ctrl-C) or timed out: nothing of the run may outlive it
            _kill_group(process)
        process.join()
        keep_alive.close()
    return record if record is not None else _lost_run_record(spec, process.exitcode)


def _child_main(spec: RunSpec, progress: bool, conn: Connection, parent_alive: Connection) -> None:
    # Its own group, so a kill reaches all it started. Ctrl-C then reaches only the parent, which stops it.
    os.setpgid(0, 0)
    threading.Thread(target=_die_with_parent, args=(parent_alive,), daemon=True).start()
    # tqdm's default lock is a multiprocessing semaphore, which a killed or exiting child never unlinks
    # (the resource tracker then warns of leaks); a run has one progress bar, a thread lock is enough.
    tqdm.set_lock(threading.RLock())
    conn.send(run_one(spec, fresh_process=True, progress=progress))
    conn.close()


def _die_with_parent(parent_alive: Connection) -> None:
    """A sweep killed with SIGKILL cannot stop its run: the run notices and stops itself."""
    parent_alive.poll(None)  # returns at EOF: the parent's end closed
    os.killpg(0, signal.SIGKILL)


def _receive(receiver: Connection) -> dict | None:
    try:
        return receiver.recv()
    except EOFError:
        return None


def _kill_group(process: multiprocessing.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # not yet its own group leader
        process.kill()


def _lost_run_record(spec: RunSpec, exitcode: int | None) -> dict:
    """The child died before reporting: SIGKILL is most often the kernel's out-of-memory killer."""
    killed = exitcode == -signal.SIGKILL
    message = f"run process exited with code {exitcode}" + (" (killed: out of memory?)" if killed else "")
    return _failed_record(spec, "oom" if killed else "error", message)


def _failed_record(spec: RunSpec, status: str, error: str) -> dict:
    return {**identity_record(spec), "status": status, "error": error, "device": spec.device}


EXECUTORS: dict[str, Executor] = {"inline": run_inline, "subprocess": run_subprocess}
