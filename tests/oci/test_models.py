"""Manifests and configs from untrusted registries: any JSON gives a result or an OciError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagetrust.oci import media
from imagetrust.oci.errors import OciError
from imagetrust.oci.models import ImageConfig, ImageIndex, ImageManifest, parse_manifest
from imagetrust.testkit.builder import ImageSpec, Layer, build_image

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "mediaType",
                    "schemaVersion",
                    "manifests",
                    "layers",
                    "config",
                    "digest",
                    "size",
                    "platform",
                    "annotations",
                    "subject",
                    "Env",
                    "Labels",
                    "ExposedPorts",
                    "rootfs",
                    "diff_ids",
                    "history",
                    "os",
                    "architecture",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(doc=JSON)
def test_any_json_is_parsed_or_refused_cleanly(doc: object) -> None:
    data = json.dumps(doc).encode()
    for parse in (
        lambda: parse_manifest(data, where="m"),
        lambda: parse_manifest(data, media.OCI_INDEX, where="m"),
        lambda: ImageConfig.parse(data, where="c"),
    ):
        try:
            parse()
        except OciError as exc:
            assert exc.message.startswith(("m", "c"))


def test_real_manifest_and_config_round_trip() -> None:
    image = build_image(ImageSpec(layers=[Layer.from_files({"etc/hostname": "x"})]))
    manifest = parse_manifest(image.manifest.data)
    assert isinstance(manifest, ImageManifest)
    assert manifest.config.digest == image.config.digest
    assert ImageConfig.parse(image.config.data).diff_ids == image.diff_ids


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"schemaVersion": 1, "fsLayers": []}', "schema 1"),
        (b'{"mediaType": "application/vnd.oci.image.index.v1+json"}', "without a manifests"),
        (b'{"mediaType": "text/html", "layers": []}', "unsupported manifest media type"),
        (b'{"manifests": [{"digest": "sha256:abc"}]}', "manifests[0]"),
        (b'{"layers": [], "config": {}, "annotations": ["x"]}', "malformed"),
    ],
)
def test_malformed_manifests_name_the_problem(doc: bytes, message: str) -> None:
    with pytest.raises(OciError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_manifest(doc, where="registry/x@sha256:1")


def test_index_entries_keep_platforms() -> None:
    doc = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": media.OCI_MANIFEST,
                "digest": "sha256:" + "a" * 64,
                "size": 10,
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            }
        ],
    }
    index = parse_manifest(json.dumps(doc).encode())
    assert isinstance(index, ImageIndex)
    assert str(index.manifests[0].platform) == "linux/arm64/v8"
