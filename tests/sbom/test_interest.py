"""Catalogers' declared path interests never hide a file their ``wants`` would take."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from imagetrust.sbom.catalogers import default_catalogers
from imagetrust.sbom.catalogers.base import PathInterest, Want
from imagetrust.sbom.catalogers.dpkg import STATUS_D
from imagetrust.sbom.catalogers.java import ARCHIVE_SUFFIXES
from imagetrust.sbom.catalogers.osrelease import WANTED
from imagetrust.sbom.catalogers.rpm.cataloger import RPM_DATABASES

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"
CATALOGERS = default_catalogers()
SEGMENTS = [
    "usr", "lib", "var", "etc", "opt", "app", "node_modules", "site-packages",
    "x-1.0.dist-info", "x.egg-info", "META-INF", "dpkg", "status.d", "apk", "db", "rpm",
    "sysimage", "METADATA", "PKG-INFO", "package.json", "installed", "status", "a.jar",
    "B.WAR", "c.Lpkg", "os-release", "debian_version", "Packages", "rpmdb.sqlite",
]  # fmt: skip


def covers(interest: PathInterest, path: str) -> bool:
    return (
        path in interest.paths
        or path.startswith(interest.prefixes)
        or path.lower().endswith(tuple(s.lower() for s in interest.suffixes))
    )


def check(path: str) -> None:
    for cataloger in CATALOGERS:
        interest = cataloger.interest
        if interest is None:
            continue
        for mode in (0o644, 0o755):
            if cataloger.wants(path, mode, 100) is not Want.NO:
                assert covers(interest, path), (cataloger.name, path)


def test_every_wanted_path_of_the_fixtures_and_known_databases_is_covered() -> None:
    paths = {
        p.relative_to(base).as_posix()
        for base in ROOTFS.iterdir()
        for p in base.rglob("*")
        if p.is_file()
    }
    paths |= set(WANTED) | set(RPM_DATABASES) | {f"{STATUS_D}base", "package.json"}
    paths |= {f"opt/app/lib{suffix.upper()}" for suffix in ARCHIVE_SUFFIXES}
    paths |= {"srv/node_modules/left-pad/package.json", "usr/lib/x-1.egg-info/PKG-INFO"}
    wanted = 0
    for path in sorted(paths):
        check(path)
        wanted += any(c.wants(path, 0o644, 100) is not Want.NO for c in CATALOGERS)
    assert wanted > 20  # the fixtures really exercise the catalogers


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6))
def test_random_paths_from_interesting_parts_are_covered(parts: list[str]) -> None:
    check("/".join(parts))


def test_the_named_defaults_are_the_catalogers_they_import() -> None:
    from imagetrust.sbom.analyse import ImageAnalyser, analyser_version
    from imagetrust.sbom.catalogers import default_cataloger, default_cataloger_names

    catalogers = default_catalogers()
    assert [c.name for c in catalogers] == default_cataloger_names()
    for cataloger in catalogers:
        loaded = default_cataloger(cataloger.name)
        assert type(loaded) is type(cataloger)
    assert default_cataloger("nonexistent") is None
    # The cache key is the same whether the catalogers are named or imported.
    assert ImageAnalyser(None).version == analyser_version([c.name for c in catalogers])
