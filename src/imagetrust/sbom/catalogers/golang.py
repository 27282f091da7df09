"""Go modules compiled into binaries, from the build info the Go linker embeds.

The walker streams every executable above a small size through ``GoSniffer``, which looks
for the ``\\xff Go buildinf:`` header (16-byte aligned, as the linker places it) across
chunk boundaries and keeps only the header and the two strings after it, never the binary.
In an ELF file it searches only the writable data segments, where the linker puts the
header and where Go's own ``debug/buildinfo`` looks for it, and then stops the walker
reading the file; other formats are scanned whole.
Only the Go >= 1.18 inline layout (flag bit 2: the Go version and the module info are
varint-length-prefixed strings right after the 32-byte header) is decoded; older binaries
store pointers into the data segment, which cannot be followed in a stream, so they yield
nothing. A header that does not decode (the magic string also appears as a literal inside
binaries that embed ``debug/buildinfo``, syft and trivy among them) is skipped and the scan
goes on.

``parse`` turns the module info (``path``, ``mod``, ``dep``, ``=>`` replacements,
``build`` settings) into packages as syft's go-module-binary-cataloger does: one per
dependency (a replaced module is reported as its replacement), the main module (a
``(devel)`` version is replaced by a ``-X ...version=`` ldflag, else by a pseudo-version
from ``vcs.revision``/``vcs.time``), and ``stdlib`` at the Go version. purls come from
``purl.golang_purl``, which splits the module path as syft does:
``pkg:golang/<host>/<org>/<name>@<version>#<rest of the path>``.
syft (1.18, by default) also guesses a ``(devel)`` main module's version from semver-like
strings anywhere in the binary; that needs every byte of it and is not done here, so such a
main module stays ``(devel)`` (Debian's own builds of Go programs are like that).
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime

from imagetrust.sbom.catalogers.base import BaseCataloger, Want
from imagetrust.sbom.models import CatalogerError, OsRelease, Package, PackageType
from imagetrust.sbom.purl import golang_purl

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
ALIGN = 16
MIN_SIZE = 64 << 10  # smaller executables are scripts or C tools, never Go programs
WINDOW = 1 << 20  # the most kept after a header: version + module info of big programs
_FLAG_INLINE = 0x2
_MOD_SENTINEL = 16  # module info is wrapped in 16 bytes of markers at each end
_DEVEL = "(devel)"
_STEP = 64 << 10  # bytes taken from a chunk at a time, so a huge chunk cannot grow memory


def _uvarint(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value, next position), or None when the varint runs past ``data`` or is absurd."""
    value = 0
    shift = 0
    while pos < len(data) and shift <= 63:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return None


def _needed(buf: bytes) -> int | None:
    """How many bytes a candidate header needs in all, 0 if it is no inline header, None
    when more bytes must come first to tell."""
    if len(buf) < HEADER_SIZE + 1:
        return None
    ptr_size, flags = buf[14], buf[15]
    if ptr_size not in (4, 8) or not flags & _FLAG_INLINE:
        return 0
    first = _uvarint(buf, HEADER_SIZE)
    if first is None:
        return None if len(buf) < HEADER_SIZE + 10 else 0
    vlen, pos = first
    if not 2 <= vlen <= 128:
        return 0
    if len(buf) < pos + min(vlen, 5):
        return None
    if not (buf[pos : pos + 2] == b"go" or buf[pos : pos + 5] == b"devel"):
        return 0
    second = _uvarint(buf, pos + vlen)
    if second is None:
        return None if len(buf) < pos + vlen + 10 else 0
    mlen, mpos = second
    return mpos + mlen


class MagicScanner:
    """Finds the build info in a stream; memory stays under ``window`` bytes.

    While searching, only the last ``len(MAGIC) - 1`` bytes of the stream are held (so a
    magic split across chunks is still found); once a plausible header is found, bytes are
    kept until its strings are complete or ``window`` is reached.
    """

    def __init__(self, window: int = WINDOW, offset: int = 0) -> None:
        self.window = max(window, 256)  # room for the header and the version string
        self._buf = b""  # search: the unmatched tail; capture: bytes from the magic on
        self._buf_offset = offset  # stream offset of self._buf[0] (alignment is by it)
        self._capturing = False
        self._done: bytes | None = None
        self.max_buffered = 0

    def feed(self, chunk: bytes) -> None:
        if self._done is None and not self._capturing and MAGIC not in chunk:
            # The common case (most executables are not Go programs): no magic inside the
            # chunk, so only one split across the boundary with the held tail could start
            # here. Test that small seam and keep the new tail, instead of copying the
            # whole chunk through the buffer (~40 ms per 100 MB of shared libraries).
            keep = len(MAGIC) - 1
            if MAGIC not in self._buf + chunk[:keep]:
                held = len(self._buf) + len(chunk)
                tail = chunk[-keep:] if len(chunk) >= keep else (self._buf + chunk)[-keep:]
                self._buf_offset += held - len(tail)
                self._buf = tail
                return
        pos = 0
        while pos < len(chunk) and self._done is None:
            # never take more than fits: after ``_scan`` the buffer is below the window
            take = min(_STEP, self.window - len(self._buf))
            self._buf += chunk[pos : pos + take]
            pos += take
            self.max_buffered = max(self.max_buffered, len(self._buf))
            self._scan()

    def _scan(self) -> None:
        while self._done is None:
            if not self._capturing:
                start = 0
                while True:
                    i = self._buf.find(MAGIC, start)
                    if i < 0 or (self._buf_offset + i) % ALIGN == 0:
                        break
                    start = i + 1
                if i < 0:
                    keep = len(MAGIC) - 1
                    cut = max(0, len(self._buf) - keep)
                    self._buf_offset += cut
                    self._buf = self._buf[cut:]
                    return
                self._buf_offset += i
                self._buf = self._buf[i:]
                self._capturing = True
            needed = _needed(self._buf)
            if needed is None:
                if len(self._buf) >= self.window:  # cannot decide within the window
                    self._reject()
                    continue
                return
            if needed == 0 or needed > self.window:
                self._reject()
                continue
            if len(self._buf) >= needed:
                self._done = self._buf[:needed]
                self._buf = b""
                return
            return

    @property
    def capturing(self) -> bool:
        return self._capturing

    @property
    def found(self) -> bool:
        return self._done is not None

    def _reject(self) -> None:
        """Not a usable header: search again from just after this magic."""
        self._buf = self._buf[1:]
        self._buf_offset += 1
        self._capturing = False

    def finish(self) -> bytes | None:
        result, self._done, self._buf = self._done, None, b""
        return result


_ELF_MAGIC = b"\x7fELF"
_HEAD_LIMIT = 64 << 10  # program headers further in than this: scan the whole file instead
_PT_LOAD = 1
_PF_X, _PF_W = 1, 2


def writable_segments(head: bytes) -> list[tuple[int, int]] | None:
    """(file offset, file size) of an ELF file's loadable writable, non-executable segments,
    in file order: Go's linker puts the build info in the data segment (at its start, or
    after the C sections when linked externally), and Go's own ``debug/buildinfo`` searches
    there when section headers are gone. [] if there is none; None if ``head`` cannot tell
    (too short, or not a well-formed ELF header)."""
    if len(head) < 52 or not head.startswith(_ELF_MAGIC):
        return None
    wide, order = head[4], head[5]
    if wide not in (1, 2) or order not in (1, 2):
        return None
    endian = "<" if order == 1 else ">"
    if wide == 2:  # ELF64: phoff at 0x20; entry size and count at 0x36
        if len(head) < 64:
            return None
        (phoff,) = struct.unpack_from(endian + "Q", head, 0x20)
        entsize, count = struct.unpack_from(endian + "HH", head, 0x36)
        minimum = 56
    else:  # ELF32: phoff at 0x1C; entry size and count at 0x2A
        (phoff,) = struct.unpack_from(endian + "I", head, 0x1C)
        entsize, count = struct.unpack_from(endian + "HH", head, 0x2A)
        minimum = 32
    if entsize < minimum or phoff + entsize * count > len(head):
        return None
    segments = []
    for index in range(count):
        at = phoff + index * entsize
        if wide == 2:  # p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz
            kind, flags, offset, _, _, size = struct.unpack_from(endian + "IIQQQQ", head, at)
        else:  # p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags
            kind, offset, _, _, size, _, flags = struct.unpack_from(endian + "IIIIIII", head, at)
        if kind == _PT_LOAD and flags & (_PF_X | _PF_W) == _PF_W and size:
            segments.append((int(offset), int(size)))
    return sorted(segments)


class GoSniffer:
    """The build info of a Go program in a stream of its bytes.

    For ELF files (every Linux executable) only the writable, non-executable segments are
    searched, as Go's ``debug/buildinfo`` does when section headers are gone: a 170 MB
    program costs a header parse, a seek and a few MB of search, and ``done`` tells the
    walker to stop feeding once the answer is known. Anything else (other formats, or ELF
    headers that do not parse) is scanned whole by ``MagicScanner``.
    """

    def __init__(self, window: int = WINDOW) -> None:
        self.window = max(window, 256)
        self._head = b""  # the first bytes, until the ELF headers are read
        self._head_held = 0  # the most head bytes kept between calls
        self._position = 0  # stream offset of the next byte fed
        self._regions: list[tuple[int, int]] | None = None  # ELF: (start, end) to search
        self._region = 0  # ELF: index of the region being searched or awaited
        self._scanner: MagicScanner | None = None
        self._peak = 0  # the most any finished scanner held
        self.done = False  # True once more bytes cannot change ``finish``

    @property
    def max_buffered(self) -> int:
        scanner = self._scanner.max_buffered if self._scanner is not None else 0
        return max(self._head_held, self._peak, scanner)

    def feed(self, chunk: bytes) -> None:
        if self.done or not chunk:
            return
        offset = self._position
        self._position += len(chunk)
        if self._regions is None and self._scanner is None:
            self._head += chunk
            if not self._decide():
                self._head_held = max(self._head_held, len(self._head))
                return
            chunk, offset, self._head = self._head, 0, b""
        if self._regions is None:  # not ELF: the whole stream is searched
            assert self._scanner is not None
            self._scanner.feed(chunk)
            self.done = self._scanner.found
            return
        self._feed_regions(chunk, offset)

    def _feed_regions(self, chunk: bytes, offset: int) -> None:
        regions = self._regions
        assert regions is not None
        pos = 0
        while pos < len(chunk) and not self.done:
            scanner = self._scanner
            if scanner is not None and scanner.capturing:
                # a header found in a region is captured to its end, past the region if need be
                scanner.feed(chunk[pos:])
                pos = len(chunk)
            else:
                if self._region >= len(regions):
                    self.done = True
                    return
                start, end = regions[self._region]
                here = offset + pos
                if here < start:
                    pos = min(len(chunk), start - offset)  # seek: these bytes are skipped
                    continue
                if scanner is None:
                    scanner = self._scanner = MagicScanner(self.window, offset=here)
                stop = min(len(chunk), max(end - offset, pos))
                scanner.feed(chunk[pos:stop])
                pos = stop
            if scanner.found:
                self.done = True
            elif not scanner.capturing and offset + pos >= regions[self._region][1]:
                self._peak = max(self._peak, scanner.max_buffered)
                self._scanner = None
                self._region += 1
                if self._region >= len(regions):
                    self.done = True

    def _decide(self) -> bool:
        """Pick ELF seeking or a whole-file scan once the head tells; False: not yet."""
        head = self._head
        if len(head) >= len(_ELF_MAGIC) and not head.startswith(_ELF_MAGIC):
            self._scanner = MagicScanner(self.window)
            return True
        segments = writable_segments(head)
        if segments is None:
            if len(head) < _HEAD_LIMIT:
                return False  # more of the header may still come
            self._scanner = MagicScanner(self.window)  # malformed: scan everything
            return True
        if not segments:  # no writable segment: no build info
            self.done = True
            self._head = b""
            return False
        self._regions = [(start, start + size) for start, size in segments]
        return True

    def finish(self) -> bytes | None:
        if self._regions is None and self._scanner is None:
            if self._head and not self.done:  # a short stream: scan what there is
                scanner = MagicScanner(self.window)
                scanner.feed(self._head)
                return scanner.finish()
            return None
        return self._scanner.finish() if self._scanner is not None else None


# ------------------------------------------------------------------------------ decoding


def decode_buildinfo(path: str, data: bytes) -> tuple[str, str]:
    """(Go version, module info text) from kept bytes; CatalogerError if they do not decode."""
    if not data.startswith(MAGIC) or len(data) < HEADER_SIZE + 2:
        raise CatalogerError(path, "no Go build info header")
    if not data[15] & _FLAG_INLINE:
        raise CatalogerError(path, "Go build info from before Go 1.18 is not supported")
    first = _uvarint(data, HEADER_SIZE)
    if first is None or first[1] + first[0] > len(data):
        raise CatalogerError(path, "truncated Go build info (version)")
    vlen, pos = first
    version = data[pos : pos + vlen].decode("utf-8", errors="replace")
    second = _uvarint(data, pos + vlen)
    if second is None or second[1] + second[0] > len(data):
        raise CatalogerError(path, "truncated Go build info (modules)")
    mlen, mpos = second
    mod = data[mpos : mpos + mlen]
    # the linker wraps module info in 16-byte markers; the text itself ends with a newline
    if len(mod) >= 2 * _MOD_SENTINEL + 1 and mod[-_MOD_SENTINEL - 1] == 0x0A:
        mod = mod[_MOD_SENTINEL:-_MOD_SENTINEL]
    else:
        mod = b""
    return version, mod.decode("utf-8", errors="replace")


class _Module:
    __slots__ = ("path", "replace", "sum", "version")

    def __init__(self, path: str, version: str, sum_: str) -> None:
        self.path = path
        self.version = version
        self.sum = sum_
        self.replace: _Module | None = None

    def effective(self) -> _Module:
        return self.replace if self.replace is not None else self


class BuildInfo:
    def __init__(self) -> None:
        self.go_version = ""
        self.path = ""
        self.main: _Module | None = None
        self.deps: list[_Module] = []
        self.settings: dict[str, str] = {}


def _module(parts: list[str]) -> _Module:
    return _Module(parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")


def parse_modinfo(path: str, go_version: str, text: str) -> BuildInfo:
    """The module info lines, as ``runtime/debug.ParseBuildInfo`` reads them."""
    info = BuildInfo()
    info.go_version = go_version
    last: _Module | None = None
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        word, _, rest = line.partition("\t")
        parts = rest.split("\t")
        if word == "path":
            info.path = rest
        elif word == "mod":
            last = info.main = _module(parts)
        elif word == "dep":
            last = _module(parts)
            info.deps.append(last)
        elif word == "=>":
            if last is None or not parts[0]:
                raise CatalogerError(path, f"Go build info line {lineno}: stray replacement")
            last.replace = _module(parts)
            last = None
        elif word == "build":
            key, sep, value = rest.partition("=")
            if sep:
                if len(value) >= 2 and value[0] == '"' == value[-1]:
                    value = _unquote(value)
                info.settings[key] = value
        # other lines (future keywords) are ignored, as Go ignores them
    return info


def _unquote(value: str) -> str:
    """Go's strconv.Quote'd build setting values (ldflags with spaces)."""
    body = value[1:-1]
    return re.sub(r'\\(["\\])', r"\1", body)


# ----------------------------------------------------------------------------- packages

_LDFLAG_PATTERNS = (
    r"\.[a-zA-Z0-9]*([rR]elease)?([gG]it)?([bB]uild)?[vV]er(sion)?=(\S+/)*"
    r"(?P<version>v?\d+.\d+.\d+[-\w]*)",
    r"\.[a-zA-Z0-9]*([tT]ag)=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)",
)


def _ldflags_version(ldflags: str, main_path: str) -> str:
    for pattern in _LDFLAG_PATTERNS:
        match = re.search(rf"(main|{re.escape(main_path)}/\S*){pattern}", ldflags)
        if match:
            version = match.group("version")
            return version if version.startswith("v") else "v" + version
    return ""


def _pseudo_version(revision: str, timestamp: str) -> str:
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC)
        stamp = when.strftime("%Y%m%d%H%M%S")
    except ValueError:
        stamp = "00010101000000"
    return f"v0.0.0-{stamp}-{revision[:12]}"


def main_version(info: BuildInfo) -> str:
    assert info.main is not None
    version = info.main.version
    if version != _DEVEL:
        return version
    found = _ldflags_version(info.settings.get("-ldflags", ""), info.main.path)
    if found:
        return found
    revision, timestamp = info.settings.get("vcs.revision"), info.settings.get("vcs.time")
    if revision and timestamp:
        return _pseudo_version(revision, timestamp)
    return version


def build_packages(path: str, info: BuildInfo) -> list[Package]:
    arch = info.settings.get("GOARCH") or None
    go_version = info.go_version.split(" ", 1)[0]
    main = info.main
    if main is None and info.path and info.path != "command-line-arguments":
        devels = [d for d in info.deps if d.version == _DEVEL]
        if len(devels) == 1:
            main = devels[0]
            info.deps.remove(main)
        else:
            main = _Module(info.path, _DEVEL, "")
        info.main = main
    extra = {"go_version": go_version}
    if main is not None:
        extra["main_module"] = main.path
    packages: list[Package] = []
    for dep in info.deps:
        mod = dep.effective()
        if not mod.path:
            continue
        packages.append(_go_package(mod.path, mod.version, path, arch, extra, mod.sum))
    if main is not None and main.path:
        packages.append(_go_package(main.path, main_version(info), path, arch, extra, ""))
    if go_version:
        packages.append(
            Package(
                name="stdlib",
                version=go_version,
                type=PackageType.GO,
                purl=golang_purl("stdlib", go_version.removeprefix("go")),
                path=path,
                extra=dict(extra),
            )
        )
    return packages


def _go_package(
    module: str, version: str, path: str, arch: str | None, extra: dict[str, str], sum_: str
) -> Package:
    own = dict(extra)
    if sum_:
        own["h1_digest"] = sum_
    return Package(
        name=module,
        version=version,
        type=PackageType.GO,
        purl=golang_purl(module, version),
        architecture=arch,
        path=path,
        extra=own,
    )


class GoCataloger(BaseCataloger):
    name = "go"

    def wants(self, path: str, mode: int, size: int) -> Want:
        if mode & 0o111 and size >= MIN_SIZE:
            return Want.SNIFF
        return Want.NO

    def sniffer(self, path: str) -> GoSniffer:
        return GoSniffer()

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        go_version, text = decode_buildinfo(path, data)
        return build_packages(path, parse_modinfo(path, go_version, text))
