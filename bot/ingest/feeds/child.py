"""Running one CPU-bound job (parsing a feed) in a child process that can be stopped.

A thread cannot be stopped: a document that keeps feedparser busy for minutes (it is
quadratic in the attributes of one element, for one) kept its worker thread, and a CPU,
long after the caller gave up, and filled the executor that DNS lookups share. A child
process is killed when its time is up or when its caller is cancelled (the caller's own
timeout), so a job costs at most its time limit; jobs in other children go on meanwhile.

The children come from multiprocessing's fork server: a clean process that has imported
the job's module once (``preload``) and forks a child per job. The bot's own process, with
its threads and sockets, is never forked, and a job costs a fork, not an interpreter start.
A child also limits its own CPU time, so it ends even if its parent is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Final

__all__ = ["ChildCrashed", "ChildTimeout", "run_in_child"]

_CPU_MARGIN_S: Final = 2


class ChildTimeout(Exception):
    """The job ran past its time limit; its process was killed."""


class ChildCrashed(Exception):
    """The child process ended without an answer (killed, out of memory, a crash)."""


async def run_in_child(
    target: Callable[..., Any],
    *args: Any,
    time_limit_s: float,
    preload: tuple[str, ...] = (),
) -> Any:
    """``target(*args)`` in a child process: its result, or the exception it raised.

    ``target`` must be a module-level function; it, its arguments, its result and its
    exceptions must pickle. ``preload`` names the modules the fork server imports once (the
    target's module, typically; it counts when the server starts, at the first job).
    Raises :class:`ChildTimeout` after ``time_limit_s`` and :class:`ChildCrashed` if the
    child dies without an answer. Either way, and when the caller is cancelled, the child
    is killed before this returns.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_serve, args=(sending, target, args, time_limit_s), daemon=True
    )
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[None] = loop.create_future()
    try:
        await asyncio.to_thread(process.start)  # the first job waits for the server to start
        sending.close()  # the child holds its copy: end of file here means it has ended
        loop.add_reader(receiving.fileno(), _settle, answered)
        try:
            async with asyncio.timeout(time_limit_s):
                await answered
        except TimeoutError:
            raise ChildTimeout(f"stopped after {time_limit_s:g} s") from None
        try:
            ok, value = receiving.recv()  # the child is writing it: no wait to speak of
        except (EOFError, ConnectionError):
            raise ChildCrashed("the parsing process ended without an answer") from None
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(receiving.fileno())
        receiving.close()
        sending.close()
        if process.is_alive():
            process.kill()
        if process.pid is not None:
            process.join()  # killed or done: at once
            process.close()
    if ok:
        return value
    raise value


def _settle(answered: asyncio.Future[None]) -> None:
    if not answered.done():
        answered.set_result(None)


def _serve(answer: Connection, target: Callable[..., Any], args: Any, time_limit_s: float) -> None:
    cpu_s = math.ceil(time_limit_s) + _CPU_MARGIN_S
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    try:
        outcome: tuple[bool, Any] = (True, target(*args))
    except Exception as exc:  # the parent raises it
        outcome = (False, exc)
    try:
        answer.send(outcome)
    except Exception as exc:  # a result or an exception that does not pickle
        answer.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
