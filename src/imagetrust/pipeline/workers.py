"""Layer analysis in worker processes: the heavy part of a run, spread over the cores.

The unit of work is a layer, not an image: layers are what cost (download, decompress,
walk), and official images share most of theirs, so the run's main process hands each
layer digest to a worker once, however many images need it, and every image waits for its
layers. Workers write the layer cache and say how many bytes they fetched; the main process
then builds each image's SBOM from the cache. Manifests are fetched by the main process
only, so the registry pull budget is counted in one place.

A worker's address space is capped (``RLIMIT_AS``), so one hostile or huge layer fails
that layer (and its images) with a clear error instead of taking the machine down; and each
worker asks the kernel to kill it when its parent dies, so a run killed with SIGKILL leaves
no worker behind. Workers are not recycled after a number of tasks: on Python 3.11 (and later
releases before their fix) ``ProcessPoolExecutor(max_tasks_per_child=...)`` never replaces a
worker that leaves at its limit while work is queued (CPython gh-115634): the run waited
forever past ``jobs x limit`` layers (found at 1,000 images by ``bench/scaling.py``).

With one job the same task runs in the main process, with no process to start.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from imagetrust.errors import ImagetrustError
from imagetrust.oci.models import Descriptor
from imagetrust.oci.reference import ImageReference

if TYPE_CHECKING:
    from imagetrust.config import Settings
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.cache import LayerCache
    from imagetrust.sbom.models import LayerLimits

_PR_SET_PDEATHSIG = 1


class LayerTask(Struct, frozen=True):
    reference: ImageReference  # the image it belongs to, by digest (where the blob is)
    descriptor: Descriptor  # the layer


class LayerOutcome(Struct, frozen=True):
    digest: str
    fetched: int  # compressed bytes downloaded (0: it was in the layer cache)
    error: str | None = None


class _Worker:
    """What one process keeps between tasks: its registry session and the layer cache."""

    def __init__(
        self, settings: Settings, cache_root: str, limits: LayerLimits, memory_mb: int | None
    ) -> None:
        from pathlib import Path

        from imagetrust.oci.sources import OciSession
        from imagetrust.sbom.cache import LayerCache

        self.session: OciSession = OciSession(settings)
        self.cache: LayerCache = LayerCache(Path(cache_root))
        self.limits = limits
        self.memory_mb = memory_mb

    def analyse(self, task: LayerTask) -> LayerOutcome:
        descriptor = task.descriptor
        try:
            from imagetrust.sbom.analyse import ImageAnalyser, SbomOptions

            analyser = ImageAnalyser(self.cache, SbomOptions(limits=self.limits))
            with self.session.open(task.reference) as source:
                _, cached = analyser.layer(source, descriptor)
        except ImagetrustError as exc:
            return LayerOutcome(descriptor.digest, 0, exc.message)
        except (MemoryError, ImportError) as exc:
            if isinstance(exc, ImportError) and not self.memory_mb:
                return LayerOutcome(
                    descriptor.digest, 0, f"layer {descriptor.digest}: ImportError: {exc}"
                )
            # Under the address-space cap a module imported late (the analyser, zstandard
            # for the cache) fails to map its shared object: an ImportError, not a
            # MemoryError, depending on which allocation hits the cap first.
            limit = f" ({self.memory_mb} MiB)" if self.memory_mb else ""
            return LayerOutcome(
                descriptor.digest, 0, f"layer {descriptor.digest}: worker memory limit{limit}"
            )
        except Exception as exc:  # a bug on one layer must not end the run
            return LayerOutcome(
                descriptor.digest, 0, f"layer {descriptor.digest}: {type(exc).__name__}: {exc}"
            )
        return LayerOutcome(descriptor.digest, 0 if cached else descriptor.size)


_WORKER: list[_Worker] = []


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies (a killed run takes its workers)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: workers end when their queue closes
        return


def init_worker(
    settings: Settings,
    cache_root: str,
    limits: LayerLimits,
    memory_mb: int | None,
    main_pid: int,
) -> None:
    """Runs first in each worker process."""
    from imagetrust.failpoints import set_main_process

    _die_with_parent()
    if os.getppid() != main_pid:  # the parent died before we got here
        os._exit(1)
    set_main_process(main_pid)
    if memory_mb:
        import resource

        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    _WORKER[:] = [_Worker(settings, cache_root, limits, memory_mb)]


def analyse_layer(task: LayerTask) -> LayerOutcome:
    """The task a worker runs (a module-level function, so it pickles by name)."""
    return _WORKER[0].analyse(task)


class InlineExecutor(Executor):
    """``--jobs 1``: tasks run in the calling process, at once, in submission order."""

    def __init__(self, session: OciSession, cache: LayerCache, limits: LayerLimits) -> None:
        self._worker = _Worker.__new__(_Worker)
        self._worker.session = session
        self._worker.cache = cache
        self._worker.limits = limits
        self._worker.memory_mb = None

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        task = args[0]
        try:
            future.set_result(self._worker.analyse(task))
        except BaseException as exc:
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        return future


def process_pool(
    jobs: int,
    settings: Settings,
    cache: LayerCache,
    limits: LayerLimits,
    memory_mb: int | None,
) -> Executor:
    """``jobs`` fresh worker processes (spawned: nothing of the main process is shared)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(settings, str(cache.root), limits, memory_mb, os.getpid()),
    )
