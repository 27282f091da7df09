"""One image's layers analysed side by side, each in a worker process, fed by this one.

An image of several layers spends its cold time decompressing and walking them, one after
the other, on one core; trivy walks them on all cores. Threads do not help here (the walk
is Python and holds the GIL: decompressing on a thread beside the walk measured slower,
``layers.USE_WORKER_THREAD``), so each layer goes to a worker process.

From a registry, this process still reads every blob through the image source (so digests
are verified, mirrors fall back, the pull budget and credentials stay in one place, and no
HTTP connection is shared with a child) and sends its bytes down a pipe to the worker. From
files (``ImageSource.blobs_in_fork``: an OCI layout) the worker reads the blob through its
forked copy of the source, verified the same way: this process then does nothing but wait
(feeding 240 MB through pipes cost it 0.5 s of CPU, a third of the work). Either way the
worker runs the very ``analyse_layer`` the sequential path runs and sends the
``LayerAnalysis`` back; the caller merges the analyses in layer order, so the SBOM is the
same, byte for byte, as a sequential run's.

Workers are forked (they start at once, with the catalogers already imported; nothing is
pickled but the bytes and the result), before any feeding thread starts, so no lock held by
another thread can be copied into them. They are few (``workers`` at most, never more than
the layers to analyse; by default up to 4 once there are two cores), each capped in
memory (``RLIMIT_AS``: its size at the fork plus ``memory_bytes``; a layer past it fails
with a ``LayerError`` naming it), and each asks the kernel to kill it if this process dies.
Largest layers are handed out first, so the longest one starts at once and the others fill
in around it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

import msgspec

from imagetrust.sbom.models import LayerAnalysis, LayerError, LayerLimits

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from imagetrust.oci.models import Descriptor
    from imagetrust.oci.sources import ImageSource
    from imagetrust.sbom.catalogers.base import Cataloger

log = logging.getLogger(__name__)

CHUNK = 256 << 10  # bytes per pipe message: the size the sequential path reads at
DEFAULT_MAX_WORKERS = 4
DEFAULT_WORKER_MEMORY = 2 << 30  # address space a worker may add to what it had at fork
_PR_SET_PDEATHSIG = 1


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def fork_available() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def worker_count(requested: int | None, layers: int) -> int:
    """How many workers for ``layers`` layers to analyse: one (no worker at all: the
    sequential path) unless there are several layers, several cores and ``fork``.

    By default a worker per layer up to ``DEFAULT_MAX_WORKERS``, even beyond the cores: an
    image's layers often cost about the same, and three workers sharing two cores finish
    three such layers in about 1.5 layer-times where two workers, one taking two layers,
    need 2 (``bench/parallel_cpu.py`` on the three-layer image: noisy on the shared
    machine, 1.05-1.58 s with two workers and 1.21-1.23 s with three, 1.46-2.32 s in
    sequence). Each worker is bounded in memory, so the cost of the extra ones is bounded.
    """
    default = DEFAULT_MAX_WORKERS if usable_cpus() > 1 else 1
    limit = default if requested is None else requested
    count = min(limit, layers)
    if count < 2 or not fork_available():
        return 1
    return count


# --------------------------------------------------------------------------- worker side


class _PipeReader(io.RawIOBase):
    """The blob as the parent sends it: messages of bytes, an empty one at the end."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending = memoryview(b"")
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._ended:
                return 0
            data = self._conn.recv_bytes()
            if not data:
                self._ended = True
                return 0
            self._pending = memoryview(data)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def drain(self) -> None:
        """Read to the end marker, so the next job starts in step with the parent."""
        while not self._ended:
            if not self._conn.recv_bytes():
                self._ended = True


def _limit_memory(extra: int) -> None:
    try:
        import resource

        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = size + extra
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError, ImportError):  # pragma: no cover - not Linux
        return


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return


def _serve(
    conn: Connection,
    source: ImageSource,
    catalogers: Sequence[Cataloger],
    limits: LayerLimits,
    memory_bytes: int | None,
    analyse: Callable[..., LayerAnalysis],
) -> None:
    """A worker's life: jobs (``feed`` or ``read``, a descriptor); after a ``feed`` job the
    blob arrives down the pipe, a ``read`` job reads it from the (forked) source itself."""
    from imagetrust.errors import ImagetrustError

    _die_with_parent()
    if memory_bytes:
        _limit_memory(memory_bytes)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        mode, descriptor = job
        digest = descriptor.digest

        def run(stream: IO[bytes], descriptor: Descriptor = descriptor) -> LayerAnalysis:
            return analyse(
                stream,
                digest=descriptor.digest,
                media_type=descriptor.media_type or None,
                catalogers=catalogers,
                limits=limits,
                compressed_size=descriptor.size,
            )

        raw = _PipeReader(conn) if mode == "feed" else None
        reply: tuple[str, Any, str | None]
        try:
            if raw is not None:
                analysis = run(io.BufferedReader(raw, CHUNK))
            else:
                analysis = source.consume_blob(descriptor, run)
            reply = ("ok", msgspec.msgpack.encode(analysis), source.served_by.get(digest))
        except LayerError as exc:
            reply = ("layer", exc.message, None)
        except MemoryError:
            reply = ("layer", f"layer {digest}: over the worker's memory limit", None)
        except ImagetrustError as exc:  # the source's (a digest mismatch): raised as is
            reply = ("source", (type(exc), exc.args, vars(exc)), None)
        except Exception as exc:
            log.debug("layer %s failed in a worker", digest, exc_info=True)
            reply = ("layer", f"layer {digest}: analysis failed: {type(exc).__name__}: {exc}", None)
        try:
            if raw is not None:
                raw.drain()
            try:
                conn.send(reply)
            except Exception:  # an error that does not pickle: its message will do
                detail = str(reply[1][1]) if reply[0] == "source" else "its answer did not pickle"
                conn.send(("layer", f"layer {digest}: {detail}", None))
        except (EOFError, OSError):
            return


# --------------------------------------------------------------------------- parent side


class _Worker:
    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def analyse(self, source: ImageSource, descriptor: Descriptor) -> LayerAnalysis:
        if source.blobs_in_fork:
            return self._delegate(source, descriptor)
        return source.consume_blob(descriptor, lambda stream: self._feed(descriptor, stream))

    def _delegate(self, source: ImageSource, descriptor: Descriptor) -> LayerAnalysis:
        """The worker reads the blob itself (verifying it, as the source always does)."""
        try:
            self.conn.send(("read", descriptor))
            reply = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            message = f"layer {descriptor.digest}: the worker process ended ({exc})"
            raise _WorkerLost(message) from None
        kind, payload, served_by = reply
        if served_by:
            source.served_by[descriptor.digest] = served_by
        return self._result(kind, payload)

    def _feed(self, descriptor: Descriptor, stream: IO[bytes]) -> LayerAnalysis:
        """Send the job and the blob; the worker's answer comes once the end is sent,
        whatever happened while reading (a mirror's failure is retried as a new job)."""
        conn = self.conn
        try:
            conn.send(("feed", descriptor))
            try:
                while chunk := stream.read(CHUNK):
                    conn.send_bytes(chunk)
            finally:
                conn.send_bytes(b"")
                kind, payload, _ = conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            message = f"layer {descriptor.digest}: the worker process ended ({exc})"
            raise _WorkerLost(message) from None
        return self._result(kind, payload)

    @staticmethod
    def _result(kind: str, payload: Any) -> LayerAnalysis:
        if kind == "ok":
            return msgspec.msgpack.decode(payload, type=LayerAnalysis)
        if kind == "source":
            # Rebuilt without calling ``__init__`` (errors with keyword-only arguments do
            # not unpickle): the same class, arguments and attributes.
            cls, args, state = payload
            error = cls.__new__(cls)
            error.args = args
            error.__dict__.update(state)
            raise _SourceFailure(error)
        raise LayerError(str(payload))


class _WorkerLost(LayerError):
    """The worker died (killed for memory?): this layer fails and the worker is not reused."""


class LayerWorkers:
    """A few forked workers; ``analyse_all`` spreads layers over them, results in order."""

    def __init__(
        self,
        count: int,
        source: ImageSource,
        catalogers: Sequence[Cataloger],
        limits: LayerLimits,
        *,
        memory_bytes: int | None = DEFAULT_WORKER_MEMORY,
        analyse: Callable[..., LayerAnalysis] | None = None,
    ) -> None:
        import multiprocessing

        from imagetrust.sbom.layers import analyse_layer

        context = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []
        try:
            for _ in range(count):
                parent, child = context.Pipe(duplex=True)
                process = context.Process(
                    target=_serve,
                    args=(
                        child,
                        source,
                        catalogers,
                        limits,
                        memory_bytes,
                        analyse or analyse_layer,
                    ),
                    name="imagetrust-layer",
                    daemon=True,
                )
                process.start()
                child.close()
                self._workers.append(_Worker(process, parent))
        except BaseException:
            self.close()
            raise

    def analyse_all(
        self, source: ImageSource, descriptors: Sequence[Descriptor]
    ) -> list[LayerAnalysis | LayerError]:
        """Each layer's analysis (or the error that stopped it), in ``descriptors``' order.

        A thread per worker takes the largest layer left, reads it from ``source`` into its
        worker and waits for the answer; the threads only move bytes (file and socket reads,
        hashing and pipe writes release the GIL), the workers do the work.
        """
        order = sorted(range(len(descriptors)), key=lambda i: -descriptors[i].size)
        jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in order:
            jobs.put(index)
        results: dict[int, LayerAnalysis | LayerError] = {}

        def drive(worker: _Worker) -> None:
            while True:
                try:
                    index = jobs.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[index] = worker.analyse(source, descriptors[index])
                except _WorkerLost as exc:
                    results[index] = exc
                    return  # a dead worker takes no more layers; the others go on
                except _SourceFailure as exc:
                    results[index] = exc
                except LayerError as exc:
                    results[index] = exc
                except Exception as exc:  # the source's own errors: raised by the caller
                    results[index] = _SourceFailure(exc)

        threads = [
            threading.Thread(target=drive, args=(worker,), name="layer-feed", daemon=True)
            for worker in self._workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [
            results.get(index) or LayerError(f"layer {descriptor.digest}: no worker process left")
            for index, descriptor in enumerate(descriptors)
        ]

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():  # pragma: no cover - a stuck worker
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []

    def __enter__(self) -> LayerWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unwrap(result: LayerAnalysis | LayerError) -> LayerAnalysis:
    """The analysis, or the error raised as the sequential path would have raised it."""
    if isinstance(result, _SourceFailure):
        raise result.error
    if isinstance(result, LayerError):
        raise result
    return result


class _SourceFailure(LayerError):
    """Carries an error of the image source (not found, digest mismatch) to the caller,
    which raises it as the sequential path would have."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
