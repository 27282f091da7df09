"""The layer cache (atomic, versioned, corruption-tolerant) and the layer merge rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagetrust.oci.models import ImageConfig
from imagetrust.sbom.cache import LayerCache, decode, encode
from imagetrust.sbom.merge import merge_layers
from imagetrust.sbom.models import KeptFile, LayerAnalysis
from imagetrust.sbom.runtime import image_facts, runtime_versions

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64


def layer(digest: str, *kept: tuple[str, bytes], **fields: object) -> LayerAnalysis:
    return LayerAnalysis(
        digest=digest,
        analyser_version="v1",
        compression="gzip",
        kept=[KeptFile(path, "test", data, 0o644, len(data)) for path, data in kept],
        **fields,  # type: ignore[arg-type]
    )


def test_encode_decode_round_trip_keeps_every_field() -> None:
    original = layer(
        DIGEST_A,
        ("var/lib/dpkg/status", b"Package: a\nVersion: 1\n"),
        ("empty", b""),
        ("bin/\u00e9", bytes(range(256))),
        whiteouts=["etc/gone"],
        opaque_dirs=["opt"],
        setuid=["usr/bin/passwd"],
        setgid=["usr/bin/wall"],
        world_writable=["tmp2"],
        skipped={"dotdot": 2},
        warnings=["x: corrupt"],
        entries=42,
        uncompressed_size=1000,
        compressed_size=100,
    )
    assert decode(encode(original)) == original


def test_cache_hit_miss_and_version_key(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    assert cache.get(DIGEST_A, "v1") is None
    stored = layer(DIGEST_A, ("etc/os-release", b"ID=debian\n"))
    path = cache.put(stored)
    assert path.is_file() and DIGEST_A.split(":")[1] in str(path)
    assert cache.get(DIGEST_A, "v1") == stored
    assert cache.get(DIGEST_A, "v2") is None  # a new analyser version misses
    assert (cache.hits, cache.misses) == (1, 2)
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temporary file


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"garbage" + data,
        lambda data: b"",
    ],
)
def test_a_damaged_entry_is_a_miss_not_an_error(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    cache = LayerCache(tmp_path)
    path = cache.put(layer(DIGEST_A, ("a", b"1" * 1000)))
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get(DIGEST_A, "v1") is None


def test_an_entry_for_another_digest_is_refused(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    source = cache.put(layer(DIGEST_A, ("a", b"1")))
    target = cache.path_for(DIGEST_B, "v1")
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    assert cache.get(DIGEST_B, "v1") is None


def test_a_long_analyser_version_is_still_a_key(tmp_path: Path) -> None:
    # Many catalogers or a huge max_file_bytes make the version longer than a file name
    # should be; the entry is then named by its hash and still answers for that version only.
    from imagetrust.sbom.analyse import analyser_version
    from imagetrust.sbom.catalogers import default_cataloger_names

    cache = LayerCache(tmp_path)
    long, longer = (analyser_version(default_cataloger_names(), 10**n) for n in (40, 41))
    assert len(long) > 100
    stored = layer(DIGEST_A, ("a", b"1"))
    stored.analyser_version = long
    path = cache.put(stored)
    assert len(path.name) < 80
    assert cache.get(DIGEST_A, long) == stored
    assert cache.get(DIGEST_A, longer) is None


@pytest.mark.parametrize("bad", ["sha256:../../etc", "md5:abc", "sha256:" + "A" * 64])
def test_cache_keys_are_validated(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="not a cache key"):
        LayerCache(tmp_path).path_for(bad, "v1")
    with pytest.raises(ValueError, match="not a cache key"):
        LayerCache(tmp_path).path_for(DIGEST_A, "../x")


def test_merge_whiteouts_opaque_dirs_and_overrides() -> None:
    merged = merge_layers(
        [
            layer(
                DIGEST_A,
                ("etc/a", b"1"),
                ("etc/b", b"1"),
                ("opt/x/y", b"1"),
                ("usr/lib/p/f", b"1"),
                setuid=["usr/bin/su", "opt/x/s"],
            ),
            layer(
                DIGEST_B,
                ("etc/a", b"2"),
                ("opt/new", b"2"),
                whiteouts=["etc/b", "usr/lib/p", "usr/bin/su"],
                opaque_dirs=["opt"],
            ),
            layer(DIGEST_C, ("etc/b", b"3")),
        ]
    )
    files = merged.files()
    assert {p: f.data for p, f in files.items()} == {"etc/a": b"2", "opt/new": b"2", "etc/b": b"3"}
    assert [v.layer_digest for v in merged.lineage["etc/a"]] == [DIGEST_A, DIGEST_B]
    # etc/b was deleted in B, so its lineage restarts in C.
    assert [v.layer_digest for v in merged.lineage["etc/b"]] == [DIGEST_C]
    assert merged.setuid == {}


def test_runtime_versions_from_env() -> None:
    env = (
        "PATH=/usr/local/bin:/usr/bin",
        "PYTHON_VERSION=3.12.4",
        "PYTHON_SHA256=abc",
        "GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305",
        "NODE_VERSION=20.11.1",
        "YARN_VERSION=1.22.19",
        "JAVA_VERSION=jdk-21.0.2+13",
        "GOLANG_VERSION=1.22.1",
        "FOO_VERSION=not a version",
        "TOMCAT_VERSION=10.1.19",
        "SECRET_TOKEN=hunter2",
        "PHP_VERSION=",
    )
    assert runtime_versions(env) == {
        "go": "1.22.1",
        "java": "jdk-21.0.2+13",
        "node": "20.11.1",
        "python": "3.12.4",
        "tomcat": "10.1.19",
    }


def test_image_facts_keep_env_names_only() -> None:
    config = ImageConfig.parse(
        b'{"os":"linux","architecture":"amd64","config":{"User":"app",'
        b'"Env":["API_TOKEN=hunter2","PYTHON_VERSION=3.11.9"],'
        b'"ExposedPorts":{"8080/tcp":{}},"Labels":{"a":"b"}}}'
    )
    facts = image_facts(config)
    assert facts.env_names == ("API_TOKEN", "PYTHON_VERSION")
    assert facts.runtimes == {"python": "3.11.9"}
    assert "hunter2" not in repr(facts)
    assert facts.user == "app" and facts.exposed_ports == ("8080/tcp",)


def _reference_merge(layers: list[LayerAnalysis]) -> dict[str, list[tuple[int, str]]]:
    """The overlay rules read straight off the OCI image spec, path by path."""
    files: dict[str, list[tuple[int, str]]] = {}
    for index, layer in enumerate(layers):
        for path in list(files):
            parts = path.split("/")
            ancestors = ["/".join(parts[:n]) for n in range(1, len(parts))]
            whited = any(w.strip("/") in (path, *ancestors) for w in layer.whiteouts)
            hidden = any(o.strip("/") in ancestors for o in layer.opaque_dirs)
            if whited or hidden:
                del files[path]
        for kept in layer.kept:
            files.setdefault(kept.path, []).append((index, kept.data.decode()))
    return files


_names = st.sampled_from(["a", "b", "c", "ab"])
_paths = st.lists(_names, min_size=1, max_size=4).map("/".join)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(_paths, max_size=6),
            st.lists(_paths.map(lambda p: "/" + p), max_size=3),
            st.lists(_paths.map(lambda p: p + "/"), max_size=2),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_merge_agrees_with_the_overlay_rules(
    spec: list[tuple[list[str], list[str], list[str]]],
) -> None:
    layers = [
        LayerAnalysis(
            digest=f"sha256:{index}",
            analyser_version="v",
            compression="gzip",
            kept=[KeptFile(path=p, cataloger="c", data=f"{index}:{p}".encode()) for p in kept],
            whiteouts=whiteouts,
            opaque_dirs=opaque,
            setuid=list(kept),
        )
        for index, (kept, whiteouts, opaque) in enumerate(spec)
    ]
    merged = merge_layers(layers)
    expected = _reference_merge(layers)
    got = {
        path: [(v.layer_index, v.file.data.decode()) for v in versions]
        for path, versions in merged.lineage.items()
    }
    assert got == expected
    assert set(merged.setuid) == set(expected)  # facts follow the same rules


def test_merge_is_linear_in_whiteouts_and_files() -> None:
    """10,000 setuid files under a layer of 200,000 whiteouts (a 1.6 MB image): about seven
    minutes when every whiteout was tested against every path; a fraction of a second now.
    The bound is loose on purpose: it only has to tell linear from quadratic."""
    import time

    base = LayerAnalysis(
        digest="sha256:0",
        analyser_version="v",
        compression="gzip",
        setuid=[f"usr/bin/s{i}" for i in range(10_000)],
    )
    top = LayerAnalysis(
        digest="sha256:1",
        analyser_version="v",
        compression="gzip",
        whiteouts=[f"/opt/gone/f{i}" for i in range(200_000)] + ["/usr/bin/s7"],
    )
    started = time.process_time()
    merged = merge_layers([base, top])
    assert time.process_time() - started < 20  # quadratic: ~7 minutes on this machine
    assert len(merged.setuid) == 9_999 and "usr/bin/s7" not in merged.setuid


def test_an_entry_declaring_a_huge_size_is_a_miss_not_an_allocation(tmp_path: Path) -> None:
    """A zstd frame that records its size is inflated to that size whatever
    ``max_output_size`` says: the declared size is checked first."""
    import struct as struct_module

    import zstandard

    from imagetrust.sbom import cache as cache_module

    frame = zstandard.ZstdCompressor(write_content_size=True).compress(b"x" * 100)
    # magic (4 bytes), the frame header descriptor, then (single segment) the content size:
    # one byte for 100; the descriptor's top two bits switch it to eight bytes
    descriptor = frame[4]
    assert descriptor & 0x20 and descriptor >> 6 == 0 and frame[5] == 100
    hostile = frame[:4] + bytes([descriptor | 0xC0]) + struct_module.pack("<Q", 5 << 30)
    hostile += frame[6:]
    assert zstandard.frame_content_size(hostile) == 5 << 30
    with pytest.raises(ValueError, match="over"):
        cache_module.decode(hostile)
    layer_cache = LayerCache(tmp_path)
    path = layer_cache.path_for("sha256:" + "a" * 64, "v1")
    path.parent.mkdir(parents=True)
    path.write_bytes(hostile)
    assert layer_cache.get("sha256:" + "a" * 64, "v1") is None
