"""Stored SBOMs: saving again replaces, and a save that fails half-way replaces nothing.

``save_sbom`` deletes the row of the same digest and analyser version, then inserts the new
one, both in the caller's transaction: between the two there is no stored SBOM at all, so
a failure there must take the delete back with it. On both store backends.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from msgspec.structs import replace

import imagetrust.sbom.stored as stored
from imagetrust.sbom.models import ImageFacts, ImageSbom, OsRelease, Package, PackageType
from imagetrust.store.database import Store

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def sbom(*packages: Package) -> ImageSbom:
    return ImageSbom(
        reference="oci-layout:x:t",
        digest="sha256:" + "a" * 64,
        index_digest=None,
        platform="linux/amd64",
        config_digest="sha256:" + "b" * 64,
        analyser_version="v1",
        os=OsRelease("alpine", "3.16.2"),
        packages=packages,
        layers=(),
        facts=ImageFacts(None, (), (), {}, {}),
    )


MUSL = Package("musl", "1.2.3-r0", PackageType.APK, "pkg:apk/alpine/musl@1.2.3-r0")


def test_a_failed_resave_keeps_the_sbom_stored_before(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sbom(MUSL)
    second = sbom(MUSL, replace(MUSL, name="musl-utils"))
    with Store.open(store_url) as store:
        with store.transaction() as conn:
            stored.save_sbom(conn, first, NOW)
        with store.transaction() as conn:
            stored.save_sbom(conn, second, NOW)  # the same digest and analyser: replaced
        with store.read() as conn:
            assert list(stored.stored_sboms(conn)) == [second]

        def broken(_: ImageSbom) -> dict[str, object]:
            raise RuntimeError("cannot serialise")  # after the delete, before the insert

        monkeypatch.setattr(stored, "to_native", broken)
        with pytest.raises(RuntimeError), store.transaction() as conn:
            stored.save_sbom(conn, first, NOW)
        with store.read() as conn:
            assert list(stored.stored_sboms(conn)) == [second]
            assert stored.load_sbom(conn, second.digest, "v1") == second
