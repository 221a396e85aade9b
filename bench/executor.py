"""Where runs execute: ``inline`` in this process (tests), or ``subprocess``, one process per run.

The subprocess executor forks each run from a forkserver: a clean process that imports
torch once and never computes. Forking the sweep's own process instead can deadlock
(GNU OpenMP is not fork-safe once a parallel region has run), and a fresh interpreter per
run costs ~2.5 s; a forkserver child starts in ~0.1 s. Each run then has its own memory
peak, and a crash or a kill takes down one run, not the sweep.

Each child leads its own process group, so the parent can kill everything a run started
when it passes ``timeout_s`` or when the sweep is interrupted. Several runs may be in flight
at once (``--workers``), each waited on by a thread of the sweep; ``kill_all`` stops them all.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from tqdm.auto import tqdm

from bench.plan import RunSpec
from bench.runner import failed_record, run_one


def run_inline(spec: RunSpec, progress: bool) -> dict:
    return run_one(spec, fresh_process=False, progress=progress)


@functools.cache
def _forkserver():
    context = multiprocessing.get_context("forkserver")
    # torch.optim imports torch._dynamo lazily on first use (~2 s): import it once in the server, not per run.
    context.set_forkserver_preload(["bench.runner", "torch._dynamo"])
    return context


def run_subprocess(spec: RunSpec, progress: bool, gpu: int | None = None) -> dict:
    """``spec`` run in a child process; with ``gpu``, the child sees that GPU alone (``CUDA_VISIBLE_DEVICES``)."""
    run = functools.partial(run_on_gpu, gpu=gpu, progress=progress)
    outcome = call_isolated(run, spec, spec.timeout_s)
    return failed_record(spec, outcome.status, outcome.error) if isinstance(outcome, Failure) else outcome


def run_isolated(spec: RunSpec) -> dict:
    """What a Ray task or a SLURM job executes: the run in a child process of its own, as here."""
    return run_subprocess(spec, progress=False)


def run_on_gpu(spec: RunSpec, gpu: int | None, progress: bool) -> dict:
    if gpu is not None:  # before anything touches CUDA in this process, which reads the variable once
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    return run_one(spec, fresh_process=True, progress=progress)


_LIVE: set[multiprocessing.Process] = set()  # children in flight, for kill_all
_LIVE_LOCK = threading.Lock()


def kill_all() -> None:
    """Kill every run in flight (an interrupted sweep); their waiting threads then return at once."""
    with _LIVE_LOCK:
        for process in list(_LIVE):
            _kill_group(process)


_STARTED = "started"  # the child's first message


@dataclass(frozen=True)
class Failure:
    """A call that gave no result: killed at its time limit, by the kernel, dead of a crash, or skipped."""

    status: str  # timeout, oom, error; or skipped, for a call not worth making
    error: str


def call_isolated(func: Callable[[Any], Any], arg: Any, timeout_s: float | None = None) -> Any:
    """``func(arg)`` in a process of its own, forked from the server; its return value, or a Failure."""
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    parent_alive, keep_alive = context.Pipe(duplex=False)  # EOF in the child: this process is gone
    process = context.Process(target=_child_main, args=(func, arg, sender, parent_alive), daemon=True)
    process.start()
    with _LIVE_LOCK:
        _LIVE.add(process)
    sender.close()  # the child holds the only writer: EOF on the reader means the child is gone
    parent_alive.close()
    result: Any = None
    try:
        # The clock starts when the child does: the first child of a sweep waits for the server to import torch.
        if _receive(receiver) == _STARTED:  # None: it died before it could start, told by its exit code below
            if receiver.poll(timeout_s):  # True on a message and on EOF; None waits without limit
                result = _receive(receiver)
            else:
                _kill_group(process)
                result = Failure("timeout", f"killed after the {timeout_s:g} s time limit (timeout_s)")
    finally:
        if process.is_alive():  # interrupted (Ctrl-C) or timed out: nothing of the run may outlive it
            _kill_group(process)
        process.join()
        keep_alive.close()
        with _LIVE_LOCK:
            _LIVE.discard(process)
    return result if result is not None else _lost(process.exitcode)


def _child_main(func: Callable[[Any], Any], arg: Any, conn: Connection, parent_alive: Connection) -> None:
    # Its own group, so a kill reaches all it started. Ctrl-C then reaches only the parent, which stops it.
    os.setpgid(0, 0)
    threading.Thread(target=_die_with_parent, args=(parent_alive,), daemon=True).start()
    # tqdm's default lock is a multiprocessing semaphore, which a killed or exiting child never unlinks
    # (the resource tracker then warns of leaks); a run has one progress bar, a thread lock is enough.
    tqdm.set_lock(threading.RLock())
    conn.send(_STARTED)
    conn.send(func(arg))
    conn.close()


def _die_with_parent(parent_alive: Connection) -> None:
    """A sweep killed with SIGKILL cannot stop its run: the run notices and stops itself."""
    parent_alive.poll(None)  # returns at EOF: the parent's end closed
    os.killpg(0, signal.SIGKILL)


def _receive(receiver: Connection) -> Any:
    try:
        return receiver.recv()
    except EOFError:
        return None


def _kill_group(process: multiprocessing.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # not yet its own group leader
        process.kill()


def _lost(exitcode: int | None) -> Failure:
    """The child died before reporting: SIGKILL is most often the kernel's out-of-memory killer."""
    killed = exitcode == -signal.SIGKILL
    message = f"run process exited with code {exitcode}" + (" (killed: out of memory?)" if killed else "")
    return Failure("oom" if killed else "error", message)
