"""Re-match stored SBOMs against the database as it is now: no layer, no registry, no blob.

After ``imagetrust db import`` the findings of every image analysed before can change; the
SBOMs in the store are all that is needed to know how. Lookups are shared across images
and so are verdicts (official images share most of their package versions), so the cost
grows with the number of distinct package versions, not with images times packages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from imagetrust.sbom.models import ImageSbom
from imagetrust.vulndb.scan import Finding, match_packages, store_matcher
from imagetrust.vulndb.versions import compare

if TYPE_CHECKING:
    from sqlalchemy import Connection


def _compare_for(base: str) -> Callable[[str, str], int]:
    return lambda a, b: compare(base, a, b)


def rematch(
    conn: Connection, sboms: Iterable[ImageSbom]
) -> Iterator[tuple[ImageSbom, list[Finding]]]:
    matcher = store_matcher(conn, _compare_for)
    lookup = matcher.lookup
    for sbom in sboms:
        yield sbom, match_packages(sbom.packages, sbom.os, lookup, _compare_for, matcher=matcher)
