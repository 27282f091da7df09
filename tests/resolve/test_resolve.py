"""``resolve``: tag policies over the stored catalog, platforms, HEAD, images files.

Catalog snapshots are written through the catalog's own recorder with hand-made Hub
listings, so each expectation follows from the policy's definition and those listings;
registry answers come from a real ``docker-registry`` behind a loopback proxy that logs
every request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagetrust.catalog.models import CatalogEntry, HubTag, HubTagImage, RepoState
from imagetrust.catalog.snapshots import record_snapshot
from imagetrust.cli.main import main
from imagetrust.clock import Clock
from imagetrust.config import RegistrySettings, Settings
from imagetrust.oci.image import PlatformSelection
from imagetrust.oci.sources import OciSession
from imagetrust.paths import HomeLayout
from imagetrust.pipeline.context import PipelineContext
from imagetrust.pipeline.resolve import resolve_images
from imagetrust.resolve.models import Resolution, ResolveRequest, StateFilter, TagPolicy
from imagetrust.store.database import Store
from imagetrust.store.tags import tag_observations
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from imagetrust.testkit.push import push
from tests.services.registry import FaultProxy, RegistryServer

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"


def sha(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def entry(
    name: str, tags: tuple[str, ...], pulls: int, state: RepoState = RepoState.ACTIVE
) -> CatalogEntry:
    return CatalogEntry(
        name=name,
        state=state,
        state_reason="test",
        notice=None,
        supported_tags=tags,
        tag_count=None,
        architectures=("amd64",),
        pull_count=pulls,
        last_updated=None,
        categories=(),
        description=None,
    )


def image(os_name: str, arch: str, variant: str | None = None) -> HubTagImage:
    return HubTagImage(arch, os_name, variant, sha(f"{os_name}/{arch}/{variant}"), 100)


def tag(name: str, digest: str, day: int, *images: HubTagImage) -> HubTag:
    return HubTag(
        name=name,
        digest=digest,
        last_updated=datetime(2026, 1, day, tzinfo=UTC),
        tag_last_pushed=None,
        tag_status="active",
        images=images or (image("linux", "amd64"),),
    )


PYTHON_IMAGES = (
    image("linux", "amd64"),
    image("linux", "arm64", "v8"),
    image("windows", "amd64"),
    HubTagImage("unknown", "unknown", None, sha("attestation"), 10),
)


@pytest.fixture
def catalog_store(tmp_path: Path) -> Iterator[PipelineContext]:
    ctx = PipelineContext(
        home=HomeLayout(tmp_path / "home"),
        settings=Settings(),
        clock=Clock.from_text("2026-05-01T12:00:00Z"),
        db_url=f"sqlite:///{tmp_path / 'home' / 'imagetrust.db'}",
    )
    entries = [
        entry("python", ("3.12", "latest"), 900),
        entry("busybox", ("1.36", "1.35"), 500),
        entry("oldthing", (), 50, RepoState.DEPRECATED),
    ]
    hub = {
        "python": [
            tag("latest", sha("py"), 3, *PYTHON_IMAGES),
            tag("3.12", sha("py"), 3, *PYTHON_IMAGES),
            tag("3.11", sha("py311"), 2),
        ],
        "busybox": [tag("1.36", sha("bb136"), 2), tag("1.35", sha("bb135"), 5)],
        "oldthing": [tag("9", sha("old9"), 1)],
    }
    with ctx.open_store() as store, store.transaction() as conn:
        record_snapshot(conn, entries, now=NOW, sources={}, tags=hub)
    yield ctx


def resolve(ctx: PipelineContext, **request: object) -> Resolution:
    return resolve_images(ctx, ResolveRequest(**request))  # type: ignore[arg-type]


def summary(resolution: Resolution) -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    return [
        (
            tuple(str(t) for t in target.tags),
            target.digest,
            tuple(str(p.platform) for p in target.platforms),
        )
        for target in resolution.targets
    ]


def test_latest_falls_back_to_the_most_recently_updated_tag(
    catalog_store: PipelineContext,
) -> None:
    resolution = resolve(catalog_store)
    # python has latest; busybox has none, and 1.35 was updated last (Jan 5 > Jan 2).
    # The most pulled repository comes first; deprecated ones are not in the default state.
    assert summary(resolution) == [
        (("python:latest",), sha("py"), ("linux/amd64",)),
        (("busybox:1.35",), sha("bb135"), ("linux/amd64",)),
    ]
    assert [t.platforms[0].digest for t in resolution.targets] == [sha("linux/amd64/None")] * 2
    assert all(t.platforms_known and t.source == "hub" for t in resolution.targets)
    assert [(n.item, n.platform) for n in resolution.not_covered] == [
        ("python:latest", "windows/amd64")
    ]
    assert any("busybox" in note and "1.35" in note for note in resolution.notes)
    assert resolution.problems == []


def test_tags_sharing_a_digest_are_one_target(catalog_store: PipelineContext) -> None:
    supported = resolve(catalog_store, tags=TagPolicy.SUPPORTED, repositories=("python",))
    assert summary(supported) == [(("python:3.12", "python:latest"), sha("py"), ("linux/amd64",))]
    every = resolve(catalog_store, tags=TagPolicy.ALL, repositories=("python",))
    assert sorted(summary(every)) == [
        (("python:3.11",), sha("py311"), ("linux/amd64",)),
        (("python:3.12", "python:latest"), sha("py"), ("linux/amd64",)),
    ]
    assert every.tags == 3  # three tags resolved, two images to analyse


def test_platforms_all_is_every_linux_image_and_windows_is_not_covered(
    catalog_store: PipelineContext,
) -> None:
    every = resolve(
        catalog_store, repositories=("python",), selection=PlatformSelection.parse("all")
    )
    assert summary(every) == [(("python:latest",), sha("py"), ("linux/amd64", "linux/arm64/v8"))]
    assert [(n.platform, n.reason) for n in every.not_covered] == [
        ("windows/amd64", "Windows images are not analysed")
    ]
    s390x = resolve(
        catalog_store, repositories=("python",), selection=PlatformSelection.parse("linux/s390x")
    )
    assert s390x.targets == []
    assert [n.platform for n in s390x.not_covered] == ["windows/amd64", "linux/s390x"]
    assert "no linux/s390x image" in s390x.not_covered[1].reason


def test_state_and_names_choose_the_repositories(catalog_store: PipelineContext) -> None:
    deprecated = resolve(catalog_store, state=StateFilter.DEPRECATED)
    assert summary(deprecated) == [(("oldthing:9",), sha("old9"), ("linux/amd64",))]
    assert len(resolve(catalog_store, state=StateFilter.ALL).targets) == 3
    named = resolve(catalog_store, repositories=("busybox", "nosuch"))
    assert [str(t.tags[0]) for t in named.targets] == ["busybox:1.35"]
    assert [(p.item, p.message) for p in named.problems] == [("nosuch", "not in the catalog")]


def test_resolve_records_the_tag_history(catalog_store: PipelineContext) -> None:
    resolve(catalog_store, tags=TagPolicy.ALL, repositories=("python",))
    with catalog_store.open_store() as store, store.read() as conn:
        spans = tag_observations(conn, "python", "3.12")
        amd64 = tag_observations(conn, "python", "3.12", platform="linux/amd64")
    assert [(s.digest, s.source) for s in spans] == [(sha("py"), "hub")]
    assert [s.digest for s in amd64] == [sha("linux/amd64/None")]


# --- the registry: HEAD only ----------------------------------------------------------


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    server = FaultProxy(registry.port).start()
    yield server
    server.stop()


def pushed(proxy: FaultProxy, repository: str, tag: str, marker: str) -> str:
    built = build_image(
        ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine"), Layer.from_files({"id": marker})])
    )
    with OciSession(Settings(), mirrors={}) as session:
        push(built, session.client(proxy.netloc), repository, tag=tag)
    proxy.log.clear()
    return built.descriptor.digest


def test_head_resolves_what_the_hub_listing_lacks_and_spends_no_pull(
    tmp_path: Path, proxy: FaultProxy, repo_name: str
) -> None:
    name = repo_name.split("/")[1]
    digest = pushed(proxy, f"library/{name}", "1", repo_name)
    ctx = PipelineContext(
        home=HomeLayout(tmp_path / "home"),
        settings=Settings(registry=RegistrySettings(default=proxy.url)),
        clock=Clock.from_text("2026-05-01T12:00:00Z"),
        db_url=f"sqlite:///{tmp_path / 'home' / 'imagetrust.db'}",
    )
    with ctx.open_store() as store, store.transaction() as conn:
        record_snapshot(conn, [entry(name, ("1", "missing"), 1)], now=NOW, sources={})
    resolution = resolve(ctx, tags=TagPolicy.SUPPORTED)
    assert summary(resolution) == [((f"{name}:1",), digest, ())]
    assert resolution.targets[0].source == "registry"
    assert not resolution.targets[0].platforms_known  # the index tells, when analysed
    assert [p.item for p in resolution.problems] == [f"{name}:missing"]
    assert "not found" in resolution.problems[0].message
    methods = {(r.method, "/manifests/" in r.path) for r in proxy.log}
    assert methods == {("HEAD", True)}  # no GET: no pull spent, no blob read


def test_images_file_resolves_any_registry_and_reports_bad_lines(
    tmp_path: Path,
    proxy: FaultProxy,
    repo_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = pushed(proxy, repo_name, "1.0", repo_name)
    with OciSession(Settings(), mirrors={}) as session:  # a second tag, same image
        client = session.client(proxy.netloc)
        data = client.get_manifest(repo_name, "1.0").data
        from imagetrust.oci.models import Descriptor
        from imagetrust.testkit.builder import Blob

        media = "application/vnd.oci.image.manifest.v1+json"
        from imagetrust.testkit.push import put_manifest

        put_manifest(client, repo_name, "stable", Blob(Descriptor(media, digest, len(data)), data))
    proxy.log.clear()
    layout_image = build_image(ImageSpec(layers=[Layer.from_files({"x": "1"})]))
    write_oci_layout(layout_image, tmp_path / "layout", tag="v1")
    listing = tmp_path / "images.txt"
    listing.write_text(
        "# our images\n"
        f"{proxy.netloc}/{repo_name}:1.0\n"
        "\n"
        f"{proxy.netloc}/{repo_name}:stable   # same digest\n"
        "Not A Reference!\n"
        f"{proxy.netloc}/{repo_name}:gone\n"
        f"oci-layout:{tmp_path / 'layout'}:v1\n"
    )
    home = tmp_path / "home"
    code = main(["--home", str(home), "resolve", "--images-file", str(listing), "-f", "json"])
    out, err = capsys.readouterr()
    assert code == 1  # some lines could not be resolved; the others were
    doc = json.loads(out)
    assert doc["kind"] == "resolution"
    targets = {t["digest"]: t for t in doc["targets"]}
    familiar = f"{proxy.netloc}/{repo_name}"
    assert targets[digest]["tags"] == [f"{familiar}:1.0", f"{familiar}:stable"]
    assert targets[layout_image.descriptor.digest]["source"] == "layout"
    assert [p["item"] for p in doc["problems"]] == [f"{listing}:5", f"{listing}:6"]
    assert "error:" in err
    assert {r.method for r in proxy.log} == {"HEAD"}
    with Store.open(f"sqlite:///{home / 'imagetrust.db'}") as store, store.read() as conn:
        namespace, _, name = repo_name.rpartition("/")
        spans = tag_observations(conn, name, "stable", registry=proxy.netloc, namespace=namespace)
    assert [(s.digest, s.source) for s in spans] == [(digest, "registry")]
