"""SBOM output formats, checked by the standards' own tools and against real syft output.

CycloneDX documents are validated against the CycloneDX 1.6 JSON schema (cyclonedx-python-
lib's strict validator); SPDX documents are parsed back and validated by spdx-tools, the
SPDX project's reference library. The shape is compared with what the real syft binary
writes for the same OCI layout. Purls in the test data are built with packageurl-python,
not by hand and not by the code under test.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packageurl import PackageURL
from spdx_tools.spdx.model.document import Document
from spdx_tools.spdx.parser.json import json_parser
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json
from imagetrust.sbom.formats.cyclonedx_model import library_cyclonedx_json
from imagetrust.sbom.formats.native import from_native, to_native
from imagetrust.sbom.formats.spdx import to_spdx_json
from imagetrust.sbom.models import (
    ImageFacts,
    ImageSbom,
    LayerSummary,
    OsRelease,
    Package,
    PackageType,
    SbomError,
)
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.tools import syft_binary

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
TOOL = "0.1.0"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LAYER_A = "sha256:" + "a1" * 32
LAYER_B = "sha256:" + "b2" * 32
DIGEST = "sha256:" + "c3" * 32
SPDX_ID = re.compile(r"^SPDXRef-[A-Za-z0-9.-]+$")


def purl(ptype: str, name: str, version: str, namespace: str | None = None, **q: str) -> str:
    return PackageURL(
        type=ptype, namespace=namespace, name=name, version=version, qualifiers=q or None
    ).to_string()


def pkg(name: str, version: str, ptype: PackageType, the_purl: str, **kw: Any) -> Package:
    return Package(name=name, version=version, type=ptype, purl=the_purl, **kw)


SCRIPT = '<script>alert("x")</script>&amp;'

PACKAGES = (
    pkg(
        "libc6",
        "2.36-9+deb12u4",
        PackageType.DEB,
        purl("deb", "libc6", "2.36-9+deb12u4", "debian", arch="amd64", distro="debian-12"),
        source_name="glibc",
        architecture="amd64",
        layer=LAYER_A,
        path="/var/lib/dpkg/status",
        licenses=("GPL-2.0-or-later", "LGPL-2.1-or-later"),
    ),
    pkg(
        "login",
        "1:4.13+dfsg1-1+b1",  # epoch ':' and '+'
        PackageType.DEB,
        purl("deb", "login", "1:4.13+dfsg1-1+b1", "debian", arch="amd64", distro="debian-12"),
        source_name="shadow",
        source_version="1:4.13+dfsg1-1",
        architecture="amd64",
        layer=LAYER_A,
        path="/var/lib/dpkg/status",
        licenses=("GPLv2+",),  # not an SPDX id
    ),
    pkg(
        "busybox",
        "1.36.1-r5",
        PackageType.APK,
        purl("apk", "busybox", "1.36.1-r5", "alpine", arch="x86_64", distro="alpine-3.19.1"),
        source_name="busybox",
        layer=LAYER_A,
        path="/lib/apk/db/installed",
        licenses=("GPL-2.0-only",),
    ),
    pkg(
        "openssl-libs",
        "3.0.7~rc1-25.el9",  # '~'
        PackageType.RPM,
        purl("rpm", "openssl-libs", "1:3.0.7~rc1-25.el9", "redhat", arch="x86_64", epoch="1"),
        source_name="openssl",
        source_version="3.0.7~rc1-25.el9",
        architecture="x86_64",
        layer=LAYER_B,
        path="/var/lib/rpm/rpmdb.sqlite",
        licenses=("ASL 2.0",),  # rpm's own license naming
    ),
    pkg(
        "Django",
        "4.2.11",
        PackageType.PYTHON,
        purl("pypi", "django", "4.2.11"),
        layer=LAYER_B,
        path="/usr/local/lib/python3.12/site-packages/Django-4.2.11.dist-info/METADATA",
        licenses=("BSD-3-Clause",),
        extra={"summary": "A high-level Python web framework"},
    ),
    pkg(
        "@babel/core",
        "7.24.0",
        PackageType.NPM,
        purl("npm", "core", "7.24.0", "@babel"),
        layer=LAYER_B,
        path="/app/node_modules/@babel/core/package.json",
        licenses=("MIT OR Apache-2.0",),
    ),
    pkg(
        "commons-lang3",
        "3.12.0",
        PackageType.JAVA,
        purl("maven", "commons-lang3", "3.12.0", "org.apache.commons"),
        layer=LAYER_B,
        path="/opt/app/lib/commons-lang3-3.12.0.jar",
    ),
    pkg(
        "github.com/spf13/cobra",
        "v1.8.0",
        PackageType.GO,
        purl("golang", "cobra", "v1.8.0", "github.com/spf13"),
        layer=LAYER_B,
        path="/usr/local/bin/app",
    ),
    pkg(
        "naïve-ünïcødé-包",
        "1.0+ü",
        PackageType.PYTHON,
        purl("pypi", "naïve-ünïcødé-包", "1.0+ü"),
        layer=LAYER_B,
        licenses=("MIT",),
    ),
    pkg(SCRIPT, "1.0.0", PackageType.NPM, purl("npm", SCRIPT, "1.0.0"), layer=LAYER_B),
    # two packages that share one purl (the same module found in two places)
    pkg("left-pad", "1.3.0", PackageType.NPM, purl("npm", "left-pad", "1.3.0"), path="/a"),
    pkg("left-pad", "1.3.0", PackageType.NPM, purl("npm", "left-pad", "1.3.0"), path="/b"),
    # and an exact duplicate of one of them: still two components
    pkg("left-pad", "1.3.0", PackageType.NPM, purl("npm", "left-pad", "1.3.0"), path="/b"),
    # a cataloger that produced no usable purl
    pkg("weird", "0", PackageType.GO, "not a purl"),
)

# several declared licenses, one of them no SPDX id (syft's own data has such a package)
MIXED = pkg(
    "mixed",
    "1",
    PackageType.APK,
    purl("apk", "mixed", "1", "alpine"),
    licenses=("GPL-2.0-or-later", "BSD", "mit"),
)

FACTS = ImageFacts(
    user="app",
    exposed_ports=("8080/tcp",),
    env_names=("PATH", "PYTHON_VERSION"),
    labels={"org.opencontainers.image.source": "https://example.invalid/x", "a": SCRIPT},
    runtimes={"python": "3.12.4"},
    entrypoint=("/entry.sh",),
    cmd=("python3",),
    created="2024-05-01T00:00:00Z",
)

LAYERS = (
    LayerSummary(LAYER_A, "application/vnd.oci.image.layer.v1.tar+gzip", 100, False, 10, 4),
    LayerSummary(
        LAYER_B, "application/vnd.oci.image.layer.v1.tar+zstd", 200, True, 20, 9, {"device": 1}
    ),
)


def make_sbom(
    packages: tuple[Package, ...] = PACKAGES,
    os_release: OsRelease | None = OsRelease(
        "debian", "12", "Debian GNU/Linux 12 (bookworm)", "bookworm", ("linux",)
    ),
    reference: str = "docker.io/library/python:3.12",
    digest: str = DIGEST,
    **kw: Any,
) -> ImageSbom:
    fields: dict[str, Any] = {
        "reference": reference,
        "digest": digest,
        "index_digest": "sha256:" + "d4" * 32,
        "platform": "linux/arm64/v8",
        "config_digest": "sha256:" + "e5" * 32,
        "analyser_version": "7",
        "os": os_release,
        "packages": packages,
        "layers": LAYERS,
        "facts": FACTS,
        "setuid": ("/usr/bin/passwd",),
        "setgid": ("/usr/bin/chage",),
        "world_writable": ("/tmp",),
        "errors": ("/var/lib/rpm/Packages: corrupt page",),
        "incomplete": ("/var/lib/rpm/Packages: corrupt page",),
    }
    fields.update(kw)
    return ImageSbom(**fields)


CASES = {
    "full": make_sbom(),
    "empty": make_sbom(packages=()),
    "no-os": make_sbom(os_release=None),
    "no-os-no-packages": make_sbom(packages=(), os_release=None, errors=()),
    "oci-layout": make_sbom(reference="oci-layout:/tmp/x y/layout:latest"),
    "odd-reference": make_sbom(reference=f"ghcr.io/o/r:{SCRIPT}", index_digest=None),
    "os-without-version": make_sbom(os_release=OsRelease("alpine", None)),
}


def cyclonedx(sbom: ImageSbom, now: datetime = NOW) -> dict[str, Any]:
    text = to_cyclonedx_json(sbom, tool_version=TOOL, now=now)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, [str(e) for e in errors] if not isinstance(errors, Exception) else errors
    doc: dict[str, Any] = json.loads(text)
    return doc


def spdx_document(text: str, tmp_path: Path) -> Document:
    path = tmp_path / f"doc-{uuid.uuid4().hex}.spdx.json"
    path.write_text(text, encoding="utf-8")
    document: Document = json_parser.parse_from_file(str(path))
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    return document


def spdx(sbom: ImageSbom, tmp_path: Path, now: datetime = NOW) -> tuple[Document, dict[str, Any]]:
    text = to_spdx_json(sbom, tool_version=TOOL, now=now)
    return spdx_document(text, tmp_path), json.loads(text)


def same_purl(a: str, b: str) -> bool:
    """Equal as package URLs (qualifier order and percent-encoding aside)."""
    return PackageURL.from_string(a).to_dict() == PackageURL.from_string(b).to_dict()


def valid_purl(text: str) -> bool:
    try:
        PackageURL.from_string(text)
    except ValueError:
        return False
    return True


# --- CycloneDX -----------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_cyclonedx_is_valid_against_the_1_6_schema(case: str) -> None:
    doc = cyclonedx(CASES[case])
    assert doc["specVersion"] == "1.6"
    assert doc["bomFormat"] == "CycloneDX"


def test_cyclonedx_describes_the_image_as_a_container() -> None:
    sbom = make_sbom()
    meta = cyclonedx(sbom)["metadata"]
    image = meta["component"]
    assert image["type"] == "container"
    assert image["name"] == sbom.reference
    assert image["version"] == sbom.digest
    # purl-spec `oci` type: name is the last path part, version the digest, registry path
    # in repository_url (https://github.com/package-url/purl-spec, PURL-TYPES oci)
    assert same_purl(
        image["purl"],
        f"pkg:oci/python@{DIGEST}?repository_url=docker.io/library/python&arch=arm64&tag=3.12",
    )
    assert datetime.fromisoformat(meta["timestamp"]) == NOW
    tools = meta["tools"]["components"]
    assert [(t["name"], t["version"]) for t in tools] == [("imagetrust", TOOL)]


def test_cyclonedx_local_sources_get_no_invented_purl() -> None:
    image = cyclonedx(CASES["oci-layout"])["metadata"]["component"]
    assert "purl" not in image
    assert image["name"] == "oci-layout:/tmp/x y/layout:latest"


def test_cyclonedx_has_every_package_with_its_purl_and_version() -> None:
    doc = cyclonedx(make_sbom())
    libraries = [c for c in doc["components"] if c["type"] == "library"]
    assert len(libraries) == len(PACKAGES)
    for package in PACKAGES:
        matches = [c for c in libraries if c["name"] == package.name]
        assert matches, package.name
        assert all(c["version"] == package.version for c in matches)
        if valid_purl(package.purl):
            assert any(same_purl(c["purl"], package.purl) for c in matches)
        else:
            assert all("purl" not in c for c in matches)
    assert Counter(c["name"] for c in libraries)["left-pad"] == 3


def test_cyclonedx_bom_refs_are_unique_and_resolve() -> None:
    doc = cyclonedx(make_sbom())
    refs = [c["bom-ref"] for c in doc["components"]] + [doc["metadata"]["component"]["bom-ref"]]
    assert len(refs) == len(set(refs))
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    image_ref = doc["metadata"]["component"]["bom-ref"]
    assert set(graph[image_ref]) == {c["bom-ref"] for c in doc["components"]}
    # a unique purl is its own bom-ref, as syft does it
    libc = next(c for c in doc["components"] if c["name"] == "libc6")
    assert same_purl(libc["bom-ref"], PACKAGES[0].purl)


def test_cyclonedx_bom_refs_do_not_depend_on_package_order() -> None:
    shuffled = list(PACKAGES)
    random.Random(4).shuffle(shuffled)
    first = cyclonedx(make_sbom())
    second = cyclonedx(make_sbom(packages=tuple(shuffled)))

    def refs(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {
            (c["bom-ref"], c["name"], json.dumps(c.get("properties"), sort_keys=True))
            for c in doc["components"]
        }

    assert refs(first) == refs(second)


def test_cyclonedx_os_is_a_component_like_syft_puts_it() -> None:
    doc = cyclonedx(make_sbom())
    systems = [c for c in doc["components"] if c["type"] == "operating-system"]
    assert len(systems) == 1
    assert (systems[0]["name"], systems[0]["version"]) == ("debian", "12")
    assert systems[0]["description"] == "Debian GNU/Linux 12 (bookworm)"
    assert not any(c["type"] == "operating-system" for c in cyclonedx(CASES["no-os"])["components"])


def test_cyclonedx_properties_carry_provenance() -> None:
    doc = cyclonedx(make_sbom())
    login = next(c for c in doc["components"] if c["name"] == "login")
    props = {(p["name"], p["value"]) for p in login["properties"]}
    assert ("imagetrust:package:sourceName", "shadow") in props
    assert ("imagetrust:package:sourceVersion", "1:4.13+dfsg1-1") in props
    assert ("imagetrust:location:layerDigest", LAYER_A) in props
    assert ("imagetrust:location:path", "/var/lib/dpkg/status") in props
    assert ("imagetrust:package:type", "deb") in props
    assert all(name.startswith("imagetrust:") for name, _ in props)
    meta_props = {(p["name"], p["value"]) for p in doc["metadata"]["properties"]}
    assert ("imagetrust:sbom:error", "/var/lib/rpm/Packages: corrupt page") in meta_props


def test_cyclonedx_licenses() -> None:
    doc = cyclonedx(make_sbom())
    by_name = {c["name"]: c for c in doc["components"]}
    assert by_name["busybox"]["licenses"] == [{"license": {"id": "GPL-2.0-only"}}]
    # not SPDX: kept as a named license, never dropped, never passed off as an id
    assert by_name["login"]["licenses"] == [{"license": {"name": "GPLv2+"}}]
    mixed = {c["name"]: c for c in cyclonedx(make_sbom(packages=(MIXED,)))["components"]}
    assert sorted(map(json.dumps, mixed["mixed"]["licenses"])) == sorted(
        map(
            json.dumps,
            [
                {"license": {"id": "GPL-2.0-or-later"}},
                {"license": {"name": "BSD"}},
                {"license": {"id": "MIT"}},  # case fixed: SPDX ids are case-insensitive
            ],
        )
    )
    assert by_name["openssl-libs"]["licenses"] == [{"license": {"name": "ASL 2.0"}}]
    assert by_name["@babel/core"]["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    assert "licenses" not in by_name["commons-lang3"]


def test_cyclonedx_serial_number_is_derived_from_digest_and_analyser() -> None:
    a = cyclonedx(make_sbom())["serialNumber"]
    assert a == cyclonedx(make_sbom(packages=()))["serialNumber"]
    assert a != cyclonedx(make_sbom(digest="sha256:" + "f6" * 32))["serialNumber"]
    assert a != cyclonedx(make_sbom(analyser_version="8"))["serialNumber"]
    parsed = uuid.UUID(a.removeprefix("urn:uuid:"))
    assert parsed.version == 5


# --- SPDX ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_spdx_parses_and_validates_with_spdx_tools(case: str, tmp_path: Path) -> None:
    document, doc = spdx(CASES[case], tmp_path)
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert document.creation_info.created == NOW.replace(tzinfo=None)


def test_spdx_has_every_package_with_purl_and_version(tmp_path: Path) -> None:
    document, _ = spdx(make_sbom(), tmp_path)
    packages = [p for p in document.packages if p.spdx_id != "SPDXRef-Image"]
    assert len(packages) == len(PACKAGES) + 1  # and the OS
    for package in PACKAGES:
        matches = [p for p in packages if p.name == package.name]
        assert matches and all(p.version == package.version for p in matches)
        locators = [r.locator for p in matches for r in p.external_references]
        if valid_purl(package.purl):
            assert any(same_purl(loc, package.purl) for loc in locators)
        else:
            assert locators == []


def test_spdx_relationships_and_ids(tmp_path: Path) -> None:
    _, doc = spdx(make_sbom(), tmp_path)
    ids = [p["SPDXID"] for p in doc["packages"]]
    assert len(ids) == len(set(ids))
    assert all(SPDX_ID.match(i) for i in ids), ids
    kinds = Counter(r["relationshipType"] for r in doc["relationships"])
    assert kinds == {"DESCRIBES": 1, "CONTAINS": len(PACKAGES) + 1}
    (describes,) = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBES"]
    assert describes["spdxElementId"] == "SPDXRef-DOCUMENT"
    image = next(p for p in doc["packages"] if p["SPDXID"] == describes["relatedSpdxElement"])
    assert image["primaryPackagePurpose"] == "CONTAINER"
    assert image["versionInfo"] == DIGEST
    assert image["checksums"] == [{"algorithm": "SHA256", "checksumValue": DIGEST[7:]}]
    contained = {
        r["relatedSpdxElement"] for r in doc["relationships"] if r["relationshipType"] == "CONTAINS"
    }
    assert contained == set(ids) - {image["SPDXID"]}
    os_package = next(
        p for p in doc["packages"] if p.get("primaryPackagePurpose") == "OPERATING-SYSTEM"
    )
    assert (os_package["name"], os_package["versionInfo"]) == ("debian", "12")


def test_spdx_licenses(tmp_path: Path) -> None:
    _, doc = spdx(make_sbom(), tmp_path)
    by_name = {p["name"]: p for p in doc["packages"]}
    assert by_name["busybox"]["licenseDeclared"] == "GPL-2.0-only"
    assert by_name["login"]["licenseDeclared"] == "NOASSERTION"
    assert "GPLv2+" in by_name["login"]["licenseComments"]
    assert by_name["openssl-libs"]["licenseDeclared"] == "NOASSERTION"
    assert by_name["commons-lang3"]["licenseDeclared"] == "NOASSERTION"
    # both of libc6's licenses, joined so that both apply
    assert set(re.split(r"\s+AND\s+", by_name["libc6"]["licenseDeclared"])) == {
        "GPL-2.0-or-later",
        "LGPL-2.1-or-later",
    }
    assert by_name["@babel/core"]["licenseDeclared"] == "MIT OR Apache-2.0"
    assert all(p["licenseConcluded"] == "NOASSERTION" for p in doc["packages"])


def test_spdx_namespace_is_a_stable_uri(tmp_path: Path) -> None:
    _, a = spdx(make_sbom(), tmp_path)
    _, b = spdx(make_sbom(packages=()), tmp_path, now=NOW + timedelta(days=1))
    _, c = spdx(make_sbom(digest="sha256:" + "f6" * 32), tmp_path)
    assert a["documentNamespace"] == b["documentNamespace"]
    assert a["documentNamespace"] != c["documentNamespace"]
    assert "#" not in a["documentNamespace"]


def test_spdx_ids_survive_hostile_names(tmp_path: Path) -> None:
    nasty = tuple(
        pkg(name, "1", PackageType.NPM, purl("npm", name or "empty", "1"))
        for name in ("", "-", "..", "a b\tc\n", "💥", "SPDXRef-DOCUMENT", "x" * 500)
    )
    _, doc = spdx(make_sbom(packages=nasty), tmp_path)
    ids = [p["SPDXID"] for p in doc["packages"]]
    assert all(SPDX_ID.match(i) for i in ids) and len(ids) == len(set(ids))
    cyclonedx(make_sbom(packages=nasty))


# --- both ----------------------------------------------------------------------------


@pytest.mark.parametrize("writer", [to_cyclonedx_json, to_spdx_json])
def test_same_input_same_bytes(writer: Any) -> None:
    first = writer(make_sbom(), tool_version=TOOL, now=NOW)
    again = writer(make_sbom(), tool_version=TOOL, now=NOW)
    assert first == again
    # another clock, in another zone, for the same instant: still the same document
    same_instant = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert writer(make_sbom(), tool_version=TOOL, now=same_instant) == first
    later = writer(make_sbom(), tool_version=TOOL, now=NOW + timedelta(seconds=1))
    assert later != first
    assert later.replace("2025-03-04T05:06:08", "2025-03-04T05:06:07") == first


def test_deterministic_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """No hash randomisation, set ordering or process state leaks into the output."""
    script = tmp_path / "emit.py"
    script.write_text(
        "import sys\n"
        "from tests.sbom.test_formats import NOW, TOOL, make_sbom\n"
        "from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json\n"
        "from imagetrust.sbom.formats.spdx import to_spdx_json\n"
        "sys.stdout.write(to_cyclonedx_json(make_sbom(), tool_version=TOOL, now=NOW))\n"
        "sys.stdout.write(to_spdx_json(make_sbom(), tool_version=TOOL, now=NOW))\n"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        run = subprocess.run(
            [sys.executable, str(script)], capture_output=True, check=True, env=env, cwd=root
        )
        outputs.add(run.stdout)
    here = (
        to_cyclonedx_json(make_sbom(), tool_version=TOOL, now=NOW)
        + to_spdx_json(make_sbom(), tool_version=TOOL, now=NOW)
    ).encode()
    assert outputs == {here}


def test_markup_in_names_is_plain_data(tmp_path: Path) -> None:
    sbom = make_sbom(reference=f"ghcr.io/o/r:{SCRIPT}")
    cdx = cyclonedx(sbom)
    assert any(c["name"] == SCRIPT for c in cdx["components"])
    assert cdx["metadata"]["component"]["name"] == sbom.reference
    _, doc = spdx(sbom, tmp_path)
    assert any(p["name"] == SCRIPT for p in doc["packages"])
    assert doc["name"] == sbom.reference
    assert any(p["name"] == "naïve-ünïcødé-包" for p in doc["packages"])


names = st.text(min_size=1, max_size=30)
hostile_packages = st.lists(
    st.builds(
        Package,
        name=names,
        version=st.text(max_size=20),
        type=st.sampled_from(list(PackageType)),
        purl=st.one_of(st.text(max_size=40), st.just("pkg:npm/a@1")),
        source_name=st.none() | names,
        source_version=st.none() | names,
        architecture=st.none() | names,
        layer=st.none() | names,
        path=st.none() | names,
        licenses=st.lists(
            st.one_of(st.text(max_size=20), st.sampled_from(["MIT", "GPL-2.0+", "(MIT", "AND"])),
            max_size=3,
        ).map(tuple),
    ),
    max_size=6,
).map(tuple)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(packages=hostile_packages, os_id=st.none() | names)
def test_arbitrary_packages_give_valid_documents(
    packages: tuple[Package, ...], os_id: str | None, tmp_path: Path
) -> None:
    os_release = None if os_id is None else OsRelease(os_id, os_id[::-1])
    sbom = make_sbom(packages=packages, os_release=os_release, reference=os_id or "x")
    doc = cyclonedx(sbom)
    assert len([c for c in doc["components"] if c["type"] == "library"]) == len(packages)
    _, spdx_doc = spdx(sbom, tmp_path)
    assert len(spdx_doc["packages"]) == len(packages) + 1 + (os_release is not None)


def same_json(a: str, b: str) -> bool:
    """The same JSON: values, list order and key order (formatting aside)."""
    return json.dumps(json.loads(a)) == json.dumps(json.loads(b))


def library_or_error(sbom: ImageSbom) -> str | SbomError:
    try:
        return library_cyclonedx_json(sbom, tool_version="1", now=NOW)
    except SbomError as exc:
        return exc


def direct_or_error(sbom: ImageSbom) -> str | SbomError:
    try:
        return to_cyclonedx_json(sbom, tool_version="1", now=NOW)
    except SbomError as exc:
        return exc


def assert_as_the_library_writes(sbom: ImageSbom) -> None:
    theirs, ours = library_or_error(sbom), direct_or_error(sbom)
    if isinstance(theirs, SbomError) or isinstance(ours, SbomError):
        assert type(ours) is type(theirs), (ours, theirs)
        return
    assert same_json(ours, theirs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_cyclonedx_is_what_the_library_writes(case: str) -> None:
    """The direct writer against cyclonedx-python-lib's own model and outputter."""
    assert_as_the_library_writes(CASES[case])


more_extras = st.dictionaries(names, st.text(max_size=10), max_size=3)
library_cases = st.lists(
    st.builds(
        Package,
        name=st.sampled_from(["a", "b", "A", "é", "a b"]) | names,
        version=st.sampled_from(["", "1", "1.0", "2"]) | st.text(max_size=8),
        type=st.sampled_from(list(PackageType)),
        purl=st.one_of(
            st.text(max_size=40),
            st.just("pkg:npm/a@1"),
            st.just("pkg:deb/debian/a@1?arch=amd64&distro=debian-12"),
            st.just("pkg:pypi/A_b@1.0"),
        ),
        source_name=st.none() | names,
        source_version=st.none() | st.sampled_from(["1", "2"]) | names,
        architecture=st.none() | names,
        layer=st.none() | names,
        path=st.none() | names,
        owner=st.none() | st.just("pkg:deb/debian/python3@3"),
        extra=more_extras,
        licenses=st.lists(
            st.sampled_from(
                ["MIT", "mit", "GPL-2.0+", "(MIT", "AND", "GPLv2+", "Apache-2.0 OR MIT", "BSD", " "]
            )
            | st.text(max_size=12),
            max_size=4,
        ).map(tuple),
    ),
    max_size=8,
).map(tuple)


@settings(max_examples=150, deadline=None)
@given(
    packages=library_cases,
    os_id=st.none() | names,
    version_id=st.none() | st.sampled_from(["12", "3.19"]),
    errors=st.lists(st.sampled_from(["e1", "e2", "e1"]), max_size=3).map(tuple),
)
def test_cyclonedx_is_what_the_library_writes_for_any_packages(
    packages: tuple[Package, ...],
    os_id: str | None,
    version_id: str | None,
    errors: tuple[str, ...],
) -> None:
    """Order (components, properties, licenses, the graph), de-duplication, left-out empty
    fields: all as cyclonedx-python-lib writes them, whatever the packages."""
    os_release = None if os_id is None else OsRelease(os_id, version_id)
    sbom = make_sbom(
        packages=packages, os_release=os_release, reference=os_id or "x", errors=errors
    )
    assert_as_the_library_writes(sbom)


# --- native --------------------------------------------------------------------------


def test_native_round_trips_every_field() -> None:
    sbom = make_sbom()
    data = to_native(sbom)
    text = json.dumps(data, ensure_ascii=False)
    back = from_native(json.loads(text))
    assert back == sbom
    assert [p.extra for p in back.packages] == [p.extra for p in sbom.packages]
    model_fields = list(ImageSbom.__struct_fields__)
    assert [k for k in data if k not in ("purl", "complete")] == model_fields
    package_fields = list(Package.__struct_fields__)
    assert all(list(p) == package_fields for p in data["packages"])
    assert data["os"]["id"] == "debian" and data["facts"]["runtimes"] == {"python": "3.12.4"}
    assert to_native(CASES["no-os"])["os"] is None


def test_native_is_stable_whatever_the_mapping_order() -> None:
    shuffled = msgspec.structs.replace(FACTS, labels=dict(reversed(list(FACTS.labels.items()))))
    a = json.dumps(to_native(make_sbom()))
    b = json.dumps(to_native(make_sbom(facts=shuffled)))
    assert a == b


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("digest"),
        lambda d: d.update(packages="nope"),
        lambda d: d["packages"][0].update(type="cobol"),
        lambda d: d["packages"][0].update(licenses=[1]),
        lambda d: d.update(os=["debian"]),
        lambda d: d["layers"][0].update(size="big"),
        lambda d: d["facts"].update(labels={"a": 1}),
    ],
)
def test_native_rejects_malformed_input_with_its_own_error(mutate: Any) -> None:
    data = json.loads(json.dumps(to_native(make_sbom())))
    mutate(data)
    with pytest.raises(SbomError):
        from_native(data)
    with pytest.raises(SbomError):
        from_native([data])


# --- against real syft output ----------------------------------------------------------


@pytest.fixture(scope="module")
def syft_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """syft's CycloneDX and SPDX for a one-layer Alpine image built from the fixture rootfs."""
    root = tmp_path_factory.mktemp("syft")
    built = build_image(ImageSpec(layers=[Layer.from_dir(FIXTURES / "rootfs" / "alpine")]))
    layout = write_oci_layout(built, root / "layout")
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "HOME": str(root)}
    subprocess.run(
        [
            syft_binary(),
            "-q",
            f"oci-dir:{layout}",
            "-o",
            f"cyclonedx-json={root / 'cdx.json'}",
            "-o",
            f"spdx-json={root / 'spdx.json'}",
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return {
        "built": built,
        "cdx": json.loads((root / "cdx.json").read_text()),
        "spdx": json.loads((root / "spdx.json").read_text()),
    }


def sbom_from_syft(cdx: dict[str, Any], digest: str, layer: str) -> ImageSbom:
    """Our model filled from syft's findings, so both documents describe the same content."""
    (system,) = [c for c in cdx["components"] if c["type"] == "operating-system"]
    props = {p["name"]: p["value"] for p in system.get("properties", [])}
    os_release = OsRelease(
        props["syft:distro:id"], props["syft:distro:versionID"], props.get("syft:distro:prettyName")
    )
    packages = tuple(
        Package(
            name=c["name"],
            version=c["version"],
            type=PackageType.APK,
            purl=c["purl"],
            layer=layer,
            path="/lib/apk/db/installed",
            licenses=tuple(
                entry["license"].get("id") or entry["license"].get("name", "")
                for entry in c.get("licenses", [])
                if "license" in entry
            ),
        )
        for c in cdx["components"]
        if c["type"] == "library"
    )
    return make_sbom(
        packages=packages, os_release=os_release, reference="oci-layout:/x", digest=digest
    )


def test_cyclonedx_shape_matches_syft(syft_run: dict[str, Any]) -> None:
    theirs = syft_run["cdx"]
    built = syft_run["built"]
    ours = cyclonedx(sbom_from_syft(theirs, built.manifest.digest, built.layers[0].digest))
    # syft's own document is valid against the same schema version we write
    assert theirs["specVersion"] == ours["specVersion"] == "1.6"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(theirs)) is None
    # the image is metadata.component, a container, versioned by its manifest digest
    for doc in (theirs, ours):
        assert doc["metadata"]["component"]["type"] == "container"
        assert doc["metadata"]["component"]["version"] == built.manifest.digest
        assert doc["metadata"]["timestamp"]
        assert doc["metadata"]["tools"]["components"][0]["type"] == "application"
    # packages are libraries and the distribution an operating-system, both in components
    assert Counter(c["type"] for c in theirs["components"]) == Counter(
        c["type"] for c in ours["components"]
    )
    for doc in (theirs, ours):
        (system,) = [c for c in doc["components"] if c["type"] == "operating-system"]
        assert (system["name"], system["version"], system["bom-ref"]) == (
            "alpine",
            "3.16.2",
            "os:alpine@3.16.2",
        )
    assert {(c["name"], c["version"]) for c in theirs["components"]} == {
        (c["name"], c["version"]) for c in ours["components"]
    }
    # licenses: where syft found an SPDX id we write the same one
    theirs_lic = {c["name"]: c.get("licenses") for c in theirs["components"]}
    for c in ours["components"]:
        if any("id" in e.get("license", {}) for e in theirs_lic.get(c["name"]) or []):
            assert sorted(map(json.dumps, c["licenses"])) == sorted(
                map(json.dumps, theirs_lic[c["name"]])
            )
    # deliberate differences: syft adds CPEs and `syft:` properties; we add `imagetrust:`
    assert all("cpe" not in c for c in ours["components"])
    ours_props = {p["name"].split(":")[0] for c in ours["components"] for p in c["properties"]}
    assert ours_props == {"imagetrust"}


def test_spdx_shape_matches_syft(syft_run: dict[str, Any], tmp_path: Path) -> None:
    theirs = syft_run["spdx"]
    built = syft_run["built"]
    spdx_document(json.dumps(theirs), tmp_path)  # syft's document passes the same checks
    sbom = sbom_from_syft(syft_run["cdx"], built.manifest.digest, built.layers[0].digest)
    _, ours = spdx(sbom, tmp_path)

    def described(doc: dict[str, Any]) -> dict[str, Any]:
        (rel,) = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBES"]
        assert rel["spdxElementId"] == "SPDXRef-DOCUMENT"
        return next(p for p in doc["packages"] if p["SPDXID"] == rel["relatedSpdxElement"])

    for doc in (theirs, ours):
        image = described(doc)
        assert image["primaryPackagePurpose"] == "CONTAINER"
        assert image["versionInfo"] == built.manifest.digest
        assert image["checksums"] == [
            {"algorithm": "SHA256", "checksumValue": built.manifest.digest[7:]}
        ]
        contains = {
            r["relatedSpdxElement"]
            for r in doc["relationships"]
            if r["relationshipType"] == "CONTAINS" and r["spdxElementId"] == image["SPDXID"]
        }
        names = {
            (p["name"], p.get("versionInfo")) for p in doc["packages"] if p["SPDXID"] in contains
        }
        library_names = {
            (c["name"], c["version"])
            for c in syft_run["cdx"]["components"]
            if c["type"] == "library"
        }
        assert library_names <= names
    # same declared licenses where syft's are plain SPDX ids
    theirs_lic = {p["name"]: p["licenseDeclared"] for p in theirs["packages"]}
    plain = {
        name: lic
        for name, lic in theirs_lic.items()
        if lic != "NOASSERTION" and re.fullmatch(r"[A-Za-z0-9.+-]+", lic)
    }
    assert plain, "syft found no plain SPDX license ids: the comparison would be empty"
    compared = 0
    for p in ours["packages"]:
        if p.get("primaryPackagePurpose") == "LIBRARY" and p["name"] in plain:
            assert p["licenseDeclared"] == plain[p["name"]]
            compared += 1
    assert compared == len(plain)


@pytest.mark.parametrize(
    ("write", "what"), [(to_cyclonedx_json, "CycloneDX"), (to_spdx_json, "SPDX")]
)
def test_a_name_json_cannot_hold_is_an_error_naming_the_image_not_a_crash(
    write: Any, what: str
) -> None:
    """A lone surrogate (a stored SBOM can carry one: JSON escapes allow ``\\ud800``) cannot
    be written as UTF-8: that image's file fails with a reason, as the report says."""
    lone = pkg("bad\ud800name", "1", PackageType.DEB, "pkg:deb/debian/bad@1")
    with pytest.raises(SbomError, match=rf"cannot write {what} for docker.io/library/python"):
        write(make_sbom(packages=(lone,)), tool_version="0.1.0", now=NOW)
