"""The cataloger interface, between the layer walker and the package parsers.

The walker calls ``wants`` for every regular file in every layer, so it must be cheap (a
few string tests on the path). What a cataloger wants is kept, per layer, in the layer
cache: ``Want.FILE`` keeps the file's bytes after ``reduce`` (a jar is reduced to the few
small entries that identify it, so the cache never holds whole archives); ``Want.SNIFF``
streams the file through a ``Sniffer`` chunk by chunk and keeps only what it returns (a Go
binary's build info), so big binaries are never held in memory. After the layers are
merged, ``parse`` turns each kept file of the final filesystem into packages.

OS catalogers also answer ``owned_files`` (optional, so a cataloger without file lists
need not define it): which of the given paths, where language packages were found, the
package manager says an OS package installed (see ``sbom.owners``).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct

from imagetrust.sbom.models import OsRelease, Package

if TYPE_CHECKING:
    from imagetrust.sbom.owners import FileOwner


class Want(Enum):
    NO = 0
    FILE = 1  # keep the bytes (bounded by the walker's per-file limit), through ``reduce``
    SNIFF = 2  # stream the bytes through ``sniffer()``, keep what it finds


class Sniffer(Protocol):
    """Sees a wanted file's bytes as they stream by. A sniffer may also have a ``done``
    attribute: once it is true, the walker stops feeding and skips the rest of the file."""

    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> bytes | None:
        """What to keep for ``parse``, or None when the file holds nothing of interest."""
        ...


class OwnsFiles(Protocol):
    """A cataloger whose kept files may list the files OS packages installed."""

    def owned_files(
        self, path: str, data: bytes, wanted: frozenset[str]
    ) -> list[tuple[str, FileOwner]]: ...


class Cataloger(Protocol):
    """One ecosystem's packages. ``name`` is stable: it keys kept files in the cache."""

    name: str

    def wants(self, path: str, mode: int, size: int) -> Want:
        """``path`` is relative to the image root without a leading slash; ``mode`` the
        tar entry's permission bits (0o755, 0o4755, ...), ``size`` its size in bytes."""
        ...

    def reduce(self, path: str, data: bytes) -> bytes | None:
        """What to keep of a wanted file (usually ``data`` itself); None keeps nothing."""
        ...

    def sniffer(self, path: str) -> Sniffer:
        """A fresh sniffer for one file this cataloger answered ``Want.SNIFF`` for."""
        ...

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        """Packages in one kept file; raise ``CatalogerError`` for a corrupt database."""
        ...


class PathInterest(Struct, frozen=True):
    """The paths a cataloger may want, in terms the walker tests at C speed.

    Every file of every layer passes the walker; asking each cataloger's ``wants`` about
    each one cost ~4 µs a file (~20 ms for a Debian base layer). The walker asks only about
    paths that are one of ``paths``, start with one of ``prefixes`` or, lower-cased, end
    with one of ``suffixes`` (give them in lower case). A superset is fine: ``wants`` still
    decides.
    """

    paths: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()


class BaseCataloger:
    """Defaults for the optional parts: keep files whole, never sniff."""

    name = "base"
    # Which paths this cataloger may want; None: ask about every path (Go's cataloger goes
    # by file mode, not by name).
    interest: PathInterest | None = None

    def wants(self, path: str, mode: int, size: int) -> Want:  # pragma: no cover - abstract
        raise NotImplementedError

    def reduce(self, path: str, data: bytes) -> bytes | None:
        return data

    def sniffer(self, path: str) -> Sniffer:
        raise NotImplementedError(f"{self.name} does not sniff {path}")

    def parse(
        self, path: str, data: bytes, os_release: OsRelease | None
    ) -> list[Package]:  # pragma: no cover - abstract
        raise NotImplementedError

    def owned_files(
        self, path: str, data: bytes, wanted: frozenset[str]
    ) -> list[tuple[str, FileOwner]]:
        """The ``wanted`` (canonical) paths that the kept file ``path`` says an OS package
        installed, each with that package; [] for anything that is no file list."""
        return []
