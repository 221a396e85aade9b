"""Process isolation: each job in a child process of its own, forked from a forkserver.

The forkserver is a clean process that imports torch (and the first job's module) once and
never computes. Forking the command's own process instead can deadlock (GNU OpenMP is not
fork-safe once a parallel region has run), and a fresh interpreter per job costs ~2.5 s; a
forkserver child starts in ~0.1 s. Each job then has its own memory peak, and a crash or a
kill takes down one job, not the command.

The server starts under the job's numerics (``bench.measure.numerics``): the environment that pins
torch's CPU kernels must be in place before torch loads, and every child inherits it. A job of other
numerics (``speed --numerics native,portable``) restarts the server under its own.

Each child leads its own process group, so the parent can kill everything a job started
when it passes ``timeout_s`` or when the command is interrupted. Several jobs may be in flight
at once (``--workers``), each waited on by a thread of the parent; ``kill_all`` stops them all.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from tqdm.auto import tqdm

from bench.engines.job import Context, Job, execute, failure_records
from bench.measure.numerics import apply_numerics

_SERVER: dict[str, str | None] = {"numerics": None}  # the numerics the running forkserver started under
_SERVER_LOCK = threading.Lock()


def _forkserver(job: Job):
    """The forkserver context, its server started (or restarted) under the job's numerics."""
    context = multiprocessing.get_context("forkserver")
    numerics = getattr(job, "numerics", "native")
    with _SERVER_LOCK:
        if _SERVER["numerics"] != numerics:
            if _SERVER["numerics"] is not None:
                # Between jobs of different numerics, none in flight: the stdlib's own way to stop its server
                # (ForkServer._stop, CPython 3.8+), so the next child starts one that loads torch pinned anew.
                multiprocessing.forkserver._forkserver._stop()
            apply_numerics(numerics)
            # The server imports the job's module once for every child, and torch._dynamo, which torch.optim
            # imports lazily on first use (~2 s).
            context.set_forkserver_preload([__name__, type(job).__module__, "torch._dynamo"])
            _SERVER["numerics"] = numerics
    return context


def run_in_child(job: Job, progress: bool, gpu: int | None = None) -> list[dict]:
    """``job`` run in a child process; with ``gpu``, the child sees that GPU alone (``CUDA_VISIBLE_DEVICES``)."""
    run = functools.partial(_execute_on_gpu, gpu=gpu, progress=progress)
    outcome = call_isolated(run, job, job.timeout_s)
    return failure_records(job, outcome.status, outcome.error) if isinstance(outcome, Failure) else outcome


def run_isolated(job: Job) -> list[dict]:
    """What a Ray task or a SLURM job executes: the job in a child process of its own, as here."""
    return run_in_child(job, progress=False)


def _execute_on_gpu(job: Job, gpu: int | None, progress: bool) -> list[dict]:
    if gpu is not None:  # before anything touches CUDA in this process, which reads the variable once
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    return execute(job, Context(fresh_process=True, progress=progress))


_LIVE: set[multiprocessing.Process] = set()  # children in flight, for kill_all
_LIVE_LOCK = threading.Lock()


def kill_all() -> None:
    """Kill every job in flight (an interrupted command); their waiting threads then return at once."""
    with _LIVE_LOCK:
        for process in list(_LIVE):
            _kill_group(process)


_STARTED = "started"  # the child's first message


@dataclass(frozen=True)
class Failure:
    """A call that gave no result: killed at its time limit, by the kernel, or dead of a crash."""

    status: str  # timeout, oom, error
    error: str


def call_isolated(func: Callable[[Job], Any], job: Job, timeout_s: float | None = None) -> Any:
    """``func(job)`` in a process of its own, forked from the server; its return value, or a Failure."""
    context = _forkserver(job)
    receiver, sender = context.Pipe(duplex=False)
    parent_alive, keep_alive = context.Pipe(duplex=False)  # EOF in the child: this process is gone
    process = context.Process(target=_child_main, args=(func, job, sender, parent_alive), daemon=True)
    process.start()
    with _LIVE_LOCK:
        _LIVE.add(process)
    sender.close()  # the child holds the only writer: EOF on the reader means the child is gone
    parent_alive.close()
    result: Any = None
    try:
        # The clock starts when the child does: the first child of a command waits for the server to import torch.
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
    # (the resource tracker then warns of leaks); a job has one progress bar, a thread lock is enough.
    tqdm.set_lock(threading.RLock())
    conn.send(_STARTED)
    conn.send(func(arg))
    conn.close()


def _die_with_parent(parent_alive: Connection) -> None:
    """A command killed with SIGKILL cannot stop its job: the job notices and stops itself."""
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
