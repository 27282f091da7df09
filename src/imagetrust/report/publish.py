"""Writing a report so that a failure never leaves a broken one behind.

The site is written whole into a new folder beside ``DIR`` and then swapped in: on Linux
with one ``renameat2(RENAME_EXCHANGE)`` (readers, a web server included, see the old site
or the new one, never neither), elsewhere with two renames (the old site moved aside, the
new one moved in; a crash between them leaves the old site whole beside ``DIR``). Until the
swap, ``DIR`` is untouched, so a report that fails half-way leaves the previous site whole.

A folder is only ever replaced when it is empty or was written by this publisher (it holds
``imagetrust-site.json``): ``--out ~`` must never swap a home folder away.

The single-file formats (Markdown, JSON, CSV) are written into ``DIR`` beside whatever is
there, each file through a temporary file and a rename, all renamed only once all are
written.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from imagetrust import __version__
from imagetrust.report.interface import ReportError

MARKER = "imagetrust-site.json"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ReportError(
            f"{out} is not empty and holds no imagetrust report: it is left alone",
            hint="choose a new or empty folder (the site replaces its folder whole)",
        )


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False when the system cannot (not Linux, old libc, a
    file system without the flag)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes.append(ctypes.c_uint)
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return bool(result == 0)


def publish_site(out: Path, write: Callable[[Path], object], *, generated_at: datetime) -> None:
    """Run ``write(staging_folder)``, then put the folder in place of ``out``."""
    out = Path(os.path.abspath(out))
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
    try:
        write(staging)
        (staging / MARKER).write_text(
            json.dumps(
                {
                    "kind": "report-site",
                    "imagetrust_version": __version__,
                    "generated_at": generated_at.isoformat(),
                }
            )
            + "\n",
            encoding="utf-8",
        )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp's 0700 would hide the site from a server
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)  # now the old site
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.rmdir(aside)
    os.rename(out, aside)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(aside, out)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def publish_files(out: Path, write: Callable[[Path], list[str]]) -> list[Path]:
    """Run ``write(staging_folder)`` for a few files, then rename each into ``out``."""
    out = Path(os.path.abspath(out))
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".imagetrust-report.", dir=out))
    try:
        names = write(staging)
        for name in names:
            with open(staging / name, "rb") as handle:
                os.fsync(handle.fileno())
        done = []
        for name in names:
            os.replace(staging / name, out / name)
            done.append(out / name)
        return done
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
