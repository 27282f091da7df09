"""Images of real sizes for ``bench/catalog.py --realistic``: real bases shared the way the
official images share theirs, and a few to tens of MB of real files of each image's own.

The small catalog (``catalog.py`` without the option) has layers of 64-600 KB, so a loop of
``trivy image`` measures trivy's start-up and ``run`` its fixed cost. These are the sizes of
real images (the official images' own, for comparison, in brackets):

- **Debian** (half the images): the debootstrapped Debian 12 minbase rootfs of
  ``bench/images.py`` without apt's package lists and downloaded ``.deb`` files, as the
  official image ships it: its real dpkg database, 88 packages [``debian:bookworm``: 49 MB
  compressed, 117 MB of files];
- **Alpine-like** (a third): a real Alpine 3.16 package database and its ``os-release``
  (``tests/fixtures/rootfs/alpine``, 14 packages) over 7.5 MB of the minbase's binaries and
  libraries [``alpine``: 3.4 MB compressed, 7.8 MB of files];
- **Ubuntu-like** (the rest): an Ubuntu 22.04 ``os-release`` and ``lsb-release`` over a
  real Debian 12 dpkg database (``tests/fixtures/rootfs/debian12``: 711 packages) and the
  minbase's files without documentation, man pages and locales, as Ubuntu's minimised
  images ship [``ubuntu:22.04``: 29 MB compressed, 78 MB of files]. No Ubuntu archive is
  downloaded: the point is a third base of that size and kind.

Then each image's own two layers, distinct per image: an *install* layer, the next 3 to 40
MB (by the image's number) of this machine's files under ``/usr/lib``, ``/usr/share`` and
``/usr/bin``, at their own paths (no Java archives: trivy cannot name them offline), and an
*app* layer, four Python distributions of this checkout's virtualenv under
``/usr/local/lib/python3.11/site-packages`` (so every SBOM has language packages too) and
the image's id.

Everything is written once, with the package's streaming builder, into one OCI layout under
the bench cache (``/var/cache/imagetrust-bench/catalog-realistic``, or
``$IMAGETRUST_BENCH_CACHE``): each base blob once, then each image; a later run builds only
the images it lacks. Files are read from this machine as it is when an image is built, so a
cached catalog stays what it was even after packages change here.

    .venv/bin/python bench/catalog_images.py [--images 20] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import os
import stat
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from images import cache_dir, ensure_rootfs

from imagetrust.oci import media
from imagetrust.oci.models import Descriptor, Platform
from imagetrust.testkit.builder import (
    Blob,
    ImageSpec,
    Layer,
    LayerFile,
    StreamedImage,
    assemble_image_layout,
    write_layer_blob,
)

REPO = Path(__file__).resolve().parent.parent
ROOTFS = REPO / "tests" / "fixtures" / "rootfs"
RECIPE_VERSION = 2  # bump when a layer's recipe changes: part of the cache key
MB = 1 << 20
ALPINE_FILE_BYTES = 7_500_000
INSTALL_MB = (3, 40)  # each image's install layer: from 3 to 40 MB of files
DISTS_PER_IMAGE = 4
LARGEST_DIST = 20 * MB  # playwright's driver, trivy and syft are not what images carry
LARGEST_POOL_FILE = 16 * MB
# Java archives left out: trivy identifies a jar by its digest in its Java database, which
# an offline loop cannot download, so a jar fails the whole image there.
LEFT_OUT_SUFFIXES = (".jar", ".war", ".ear", ".par", ".jpi", ".hpi")
POOL_ROOTS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/share",
    "/usr/lib/jvm",
    "/usr/lib/postgresql",
    "/usr/lib/python3",
    "/usr/lib/python3.11",
    "/usr/lib/chromium",
    "/usr/bin",
)
APT_LEFTOVERS = ("var/cache/apt/", "var/lib/apt/lists/")
MINIMISED = ("usr/share/doc/", "usr/share/man/", "usr/share/locale/", "usr/share/info/")
UBUNTU_OS_RELEASE = """\
PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
"""
UBUNTU_LSB_RELEASE = """\
DISTRIB_ID=Ubuntu
DISTRIB_RELEASE=22.04
DISTRIB_CODENAME=jammy
DISTRIB_DESCRIPTION="Ubuntu 22.04.4 LTS"
"""
BASES = ("debian", "alpine", "ubuntu")


def base_of(index: int) -> str:
    """The official catalog's proportions: half Debian, a third Alpine, the rest Ubuntu."""
    slot = index % 20
    return "debian" if slot < 10 else "alpine" if slot < 17 else "ubuntu"


def install_bytes(index: int) -> int:
    low, high = INSTALL_MB
    spread = int.from_bytes(hashlib.sha256(f"install/{index}".encode()).digest()[:4], "big")
    return (low + spread % (high - low + 1)) * MB


# --------------------------------------------------------------------------- bases


def _without(layer: Layer, prefixes: tuple[str, ...]) -> Layer:
    """``layer`` less the files under ``prefixes`` (their directories stay, empty)."""
    kept = {
        path: entry
        for path, entry in layer.entries.items()
        if entry.kind == "dir" or not path.startswith(prefixes)
    }
    return Layer(entries=kept)


def _debian(minbase: Path) -> Layer:
    return _without(Layer.from_dir(minbase), APT_LEFTOVERS)


def _ubuntu(minbase: Path) -> Layer:
    layer = _without(Layer.from_dir(minbase), APT_LEFTOVERS + MINIMISED)
    for path in [p for p in layer.entries if p.startswith("var/lib/dpkg/info/")]:
        del layer.entries[path]  # the Debian packages' file lists: not this database's
    layer.add_path("var/lib/dpkg/status", ROOTFS / "debian12/var/lib/dpkg/status")
    layer.add_file("etc/os-release", UBUNTU_OS_RELEASE)
    layer.add_file("usr/lib/os-release", UBUNTU_OS_RELEASE)
    layer.add_file("etc/lsb-release", UBUNTU_LSB_RELEASE)
    layer.add_file("etc/debian_version", "bookworm/sid\n")
    return layer


def _alpine(minbase: Path) -> Layer:
    layer = Layer()
    for rel in ("etc/os-release", "etc/alpine-release", "lib/apk/db/installed"):
        layer.add_path(rel, ROOTFS / "alpine" / rel)
    budget = ALPINE_FILE_BYTES
    for top in ("usr/bin", "usr/lib/x86_64-linux-gnu"):
        for path, size in _files(minbase / top):
            if size > budget:
                continue
            budget -= size
            layer.add_path(path.relative_to(minbase).as_posix(), path, _mode(path))
    return layer


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files(top: Path) -> Iterator[tuple[Path, int]]:
    """Regular files under ``top`` (not following links), sorted per folder, with sizes."""
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and os.access(path, os.R_OK):
                yield path, info.st_size


# --------------------------------------------------------------------------- own layers


class Pool:
    """This machine's files in a fixed order; image N takes the next ``install_bytes(N)``
    of them, so no two images share an install layer's file (until the pool wraps)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.ends: list[int] = []  # cumulative bytes up to and including each file
        total = 0
        for root in POOL_ROOTS:
            for path, size in _files(Path(root)):
                if size == 0 or size > LARGEST_POOL_FILE or path.suffix in LEFT_OUT_SUFFIXES:
                    continue
                total += size
                self.paths.append(path)
                self.ends.append(total)
        self.total = total

    def slice(self, index: int) -> list[Path]:
        start = sum(install_bytes(i) for i in range(index)) % max(self.total, 1)
        wanted = install_bytes(index)
        chosen: list[Path] = []
        at = bisect.bisect_right(self.ends, start)
        taken = 0
        while taken < wanted and self.paths:
            path = self.paths[at % len(self.paths)]
            chosen.append(path)
            taken += path.stat().st_size
            at += 1
        return chosen


def _distributions() -> list[tuple[str, list[tuple[str, Path]]]]:
    """Each distribution of this virtualenv: its name and (site-relative path, file)."""
    site = Path(sysconfig.get_paths()["purelib"])
    found = []
    for dist in metadata.distributions(path=[str(site)]):
        name = dist.metadata["Name"] or ""
        files = []
        size = 0
        for record in dist.files or ():
            rel = record.as_posix()
            if rel.startswith("..") or "__pycache__" in rel:
                continue
            path = site / rel
            if path.is_file() and not path.is_symlink():
                files.append((rel, path))
                size += path.stat().st_size
        if files and size <= LARGEST_DIST and name.lower() != "imagetrust":
            found.append((name, files))
    return sorted(found, key=lambda item: item[0].lower())


def _install_layer(paths: list[Path]) -> Layer:
    layer = Layer()
    for path in paths:
        layer.add_path(path.as_posix().lstrip("/"), path, _mode(path))
    return layer


def _app_layer(index: int, dists: list[tuple[str, list[tuple[str, Path]]]]) -> Layer:
    layer = Layer().add_file(f"app/{index:05d}/id", f"image {index}\n")
    site = "usr/local/lib/python3.11/site-packages"
    for k in range(DISTS_PER_IMAGE):
        _, files = dists[(index * DISTS_PER_IMAGE + k) % len(dists)]
        for rel, path in files:
            layer.add_path(f"{site}/{rel}", path, _mode(path))
    return layer


# --------------------------------------------------------------------------- the layout


@dataclass(frozen=True)
class Catalog:
    layout: Path
    images: list[StreamedImage]  # image N is tagged ``r{N:05d}``
    bases: dict[str, LayerFile]


def _layer_doc(layer: LayerFile) -> dict[str, object]:
    return {
        "descriptor": layer.descriptor.to_json(),
        "diff_id": layer.diff_id,
        "tar_size": layer.tar_size,
    }


def _layer_from(doc: dict[str, object], layout: Path) -> LayerFile:
    descriptor = Descriptor.from_json(doc["descriptor"], where="bench state")
    path = layout / "blobs" / "sha256" / descriptor.digest.split(":", 1)[1]
    return LayerFile(descriptor, str(doc["diff_id"]), int(str(doc["tar_size"])), path)


def load_image(layout: Path, manifest_digest: str, tar_sizes: list[int]) -> StreamedImage:
    """An image of the layout back from its manifest (and the layers' tar sizes)."""
    blobs = layout / "blobs" / "sha256"
    manifest_data = (blobs / manifest_digest.split(":", 1)[1]).read_bytes()
    manifest_doc = json.loads(manifest_data)
    config_desc = Descriptor.from_json(manifest_doc["config"], where="manifest")
    config_data = (blobs / config_desc.digest.split(":", 1)[1]).read_bytes()
    diff_ids = json.loads(config_data)["rootfs"]["diff_ids"]
    layers = []
    for doc, diff_id, tar_size in zip(manifest_doc["layers"], diff_ids, tar_sizes, strict=True):
        descriptor = Descriptor.from_json(doc, where="manifest")
        path = blobs / descriptor.digest.split(":", 1)[1]
        layers.append(LayerFile(descriptor, diff_id, tar_size, path))
    manifest = Blob.of(manifest_doc["mediaType"], manifest_data)
    config_doc = json.loads(config_data)
    platform = Platform(config_doc["os"], config_doc["architecture"])
    return StreamedImage(manifest, Blob(config_desc, config_data), tuple(layers), platform)


def _key(minbase: Path) -> str:
    doc = {
        "version": RECIPE_VERSION,
        "minbase": (minbase / "var/lib/dpkg/status").stat().st_mtime_ns,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def ensure_catalog(cache: Path, count: int, *, log: object = sys.stderr) -> Catalog:
    """The first ``count`` images of the catalog, building those the cache lacks."""
    minbase = ensure_rootfs(cache, allow_substitute=False).path
    folder = cache / "catalog-realistic" / _key(minbase)
    layout = folder / "layout"
    blobs = layout / "blobs" / "sha256"
    state_path = folder / "state.json"
    state: dict[str, dict[str, object]] = {"bases": {}, "images": {}}
    if state_path.is_file():
        state = json.loads(state_path.read_text())

    def save() -> None:
        partial = state_path.with_suffix(".partial")
        partial.write_text(json.dumps(state, indent=1))
        partial.replace(state_path)

    folder.mkdir(parents=True, exist_ok=True)
    bases: dict[str, LayerFile] = {}
    recipes = {"debian": _debian, "alpine": _alpine, "ubuntu": _ubuntu}
    for name in BASES:
        doc = state["bases"].get(name)
        if isinstance(doc, dict) and _layer_from(doc, layout).path.is_file():
            bases[name] = _layer_from(doc, layout)
            continue
        started = time.perf_counter()
        built = write_layer_blob(recipes[name](minbase), blobs, media.OCI_LAYER_GZIP, "gzip")
        bases[name] = built
        state["bases"][name] = _layer_doc(built)
        save()
        print(
            f"  base {name}: {built.descriptor.size / 1e6:.1f} MB gzip,"
            f" {built.tar_size / 1e6:.1f} MB tar ({time.perf_counter() - started:.1f} s)",
            file=log,  # type: ignore[arg-type]
        )
    pool: Pool | None = None
    dists: list[tuple[str, list[tuple[str, Path]]]] = []
    images: list[StreamedImage] = []
    for index in range(count):
        tag = f"r{index:05d}"
        doc = state["images"].get(tag)
        if isinstance(doc, dict):
            sizes = [int(s) for s in doc["tar_sizes"]]  # type: ignore[attr-defined]
            try:
                images.append(load_image(layout, str(doc["manifest"]), sizes))
                continue
            except (OSError, ValueError, KeyError):
                pass
        if pool is None:
            pool, dists = Pool(), _distributions()
        started = time.perf_counter()
        files = [bases[base_of(index)]]
        for layer in (_install_layer(pool.slice(index)), _app_layer(index, dists)):
            files.append(write_layer_blob(layer, blobs, media.OCI_LAYER_GZIP, "gzip"))
        spec = ImageSpec(
            layers=(),
            cmd=("sh",),
            created_by=[
                f"{base_of(index)} base",
                f"install: {files[1].tar_size / 1e6:.0f} MB of files",
                "pip install (four distributions) && image id",
            ],
        )
        image = assemble_image_layout(spec, files, layout, tag=tag)
        images.append(image)
        state["images"][tag] = {
            "manifest": image.manifest.digest,
            "tar_sizes": [f.tar_size for f in files],
        }
        save()
        own = sum(f.descriptor.size for f in files[1:])
        print(
            f"  image {tag} on {base_of(index)}: own layers {own / 1e6:.1f} MB gzip"
            f" ({time.perf_counter() - started:.1f} s)",
            file=log,  # type: ignore[arg-type]
        )
    return Catalog(layout, images, bases)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--cache-dir", help="default $IMAGETRUST_BENCH_CACHE or the bench cache")
    args = parser.parse_args()
    found = ensure_catalog(cache_dir(args.cache_dir), args.images)
    for name, layer in found.bases.items():
        print(f"{name}: {layer.descriptor.size / 1e6:.1f} MB gzip, {layer.tar_size / 1e6:.1f} MB")
    own = [sum(f.descriptor.size for f in image.layers[1:]) for image in found.images]
    print(f"{len(own)} images, own layers {min(own) / 1e6:.1f}-{max(own) / 1e6:.1f} MB gzip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
