"""``report.json``: the report model as one versioned document.

``schema_version`` and ``kind`` come first, as in every imagetrust JSON output; bump
``SCHEMA_VERSION`` when a field changes meaning. The document holds every part of the model
but the package and layer lists of each image (the SBOM downloads of the site, or ``imagetrust
sbom``, have those): repositories with their tags and platforms, images with their reasons,
evidence, findings and what is not covered, trends and the review. The README describes it.

Version 2: each image gained ``other_engines`` and ``publisher_sbom`` (other sources,
shown and never counted). Version 3: each image gained ``recommendation`` (what to use
instead of a tag that is not approved; null when approved).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from imagetrust.report.build import BuiltReport

SCHEMA_VERSION = 3
KIND = "report"
FILE_NAME = "report.json"
_LEFT_OUT = ("packages", "layers")


def document(built: BuiltReport) -> dict[str, Any]:
    report = built.report
    body: dict[str, Any] = msgspec.to_builtins(report)
    body["images"] = [
        {key: value for key, value in image.items() if key not in _LEFT_OUT}
        for image in body["images"]
    ]
    body["review"] = msgspec.to_builtins(report.review.as_dict())
    return {"schema_version": SCHEMA_VERSION, "kind": KIND, **body}


class JsonReport:
    def text(self, built: BuiltReport) -> str:
        encoded = msgspec.json.encode(document(built))
        return msgspec.json.format(encoded, indent=2).decode("utf-8") + "\n"

    def write(self, built: BuiltReport, folder: Path) -> list[str]:
        (folder / FILE_NAME).write_text(self.text(built), encoding="utf-8")
        return [FILE_NAME]
