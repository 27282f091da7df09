"""Crash points: a process that SIGKILLs itself at a named point, for kill-and-resume tests.

A ``run`` must end with the same store whether or not it was killed at any moment. Killing
it from outside cannot hit "half-way through a commit" or "in the middle of a blob" on
purpose, so the code marks those places with ``failpoint(NAME)`` and the tests set
``IMAGETRUST_FAILPOINT=NAME[:N]``: the N-th arrival (default the first) at that point
sends SIGKILL, exactly as ``kill -9`` would (no handler runs, nothing is flushed or rolled
back by us). In a worker process the run's main process is killed first, as a user's
``kill -9`` of the run would end it, and the workers follow it (they die with their
parent). Unset, which is always the case outside tests, a failpoint costs one comparison.
"""

from __future__ import annotations

import os
import signal

ENV = "IMAGETRUST_FAILPOINT"

_armed: dict[str, int] = {}  # name -> arrivals left before the kill
_loaded = [False]
_main_pid: list[int | None] = [None]


def _load() -> None:
    _loaded[0] = True
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return
    name, _, count = spec.partition(":")
    _armed[name] = int(count) if count.isdigit() and int(count) > 0 else 1


def set_main_process(pid: int) -> None:
    """Called in a worker: a crash here takes the run's main process down with it."""
    _main_pid[0] = pid


def failpoint(name: str) -> None:
    if not _loaded[0]:
        _load()
    if not _armed or name not in _armed:
        return
    _armed[name] -= 1
    if _armed[name] > 0:
        return
    main = _main_pid[0]
    if main is not None and main != os.getpid():
        os.kill(main, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
