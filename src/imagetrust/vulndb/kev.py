"""CISA's Known Exploited Vulnerabilities catalog: which CVEs are exploited in the wild.

The catalog is one JSON document (``catalogVersion``, ``dateReleased``, ``vulnerabilities``:
``cveID``, ``dateAdded``, ``dueDate``, vendor, product, ...). It is small (~1,500 entries),
so an import replaces the stored catalog whole, in one transaction: readers see the old
catalog or the new one. The document's ``count`` is not trusted (the real feed's may
disagree with its list); the entries are what count. A finding whose id or any alias is a
listed CVE is *known exploited*, with the date CISA added it and the due date it set.

**Generation.** The catalog flags findings, so it is part of the database state that keys
finding sets (``query.live_generations``): the stored row's id is the catalog's
generation, one more whenever an import brings other content (the same document imported
again keeps it). A KEV-only update thus makes ``run`` match stored SBOMs again, and the
findings, evidence and verdicts read the new flags.

Feeds are untrusted: the document is bounded in size, every entry is validated (a CVE id of
the documented pattern, ISO dates), and a document that is not the catalog, or holds no
valid entry, fails the import and changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import Struct
from sqlalchemy import Connection, delete, insert, select

from imagetrust.store.schema import kev_catalog, kev_entries
from imagetrust.vulndb.errors import VulnDbError

if TYPE_CHECKING:
    from imagetrust.config import Settings
    from imagetrust.store.database import Store
    from imagetrust.vulndb.scan import Finding

MAX_KEV_BYTES = 64 << 20  # the whole catalog is ~1.5 MB
KEV_SOURCE = "cisa-kev"  # the catalog's name in a database state
_CVE = re.compile(r"^CVE-\d{4}-\d{4,19}$")


class KnownExploited(Struct, frozen=True):
    """What CISA says of one CVE: when it was added, and by when it must be fixed."""

    cve: str
    date_added: date | None
    due_date: date | None
    vendor: str | None = None
    product: str | None = None
    name: str | None = None
    ransomware: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "cve": self.cve,
            "date_added": self.date_added.isoformat() if self.date_added else None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "vendor": self.vendor,
            "product": self.product,
            "name": self.name,
            "known_ransomware_use": self.ransomware,
        }

    @classmethod
    def from_json(cls, value: object) -> KnownExploited | None:
        """What ``to_json`` wrote, read back from a stored finding (``show``, the report);
        None for anything else. A date that does not read is left out, not guessed."""
        if not isinstance(value, dict):
            return None
        cve = value.get("cve")
        if not isinstance(cve, str) or not _CVE.match(cve):
            return None

        def when(key: str) -> date | None:
            try:
                return _date(value, key)
            except ValueError:
                return None

        return cls(
            cve,
            when("date_added"),
            when("due_date"),
            _text(value, "vendor"),
            _text(value, "product"),
            _text(value, "name"),
            _text(value, "known_ransomware_use", 32),
        )

    @property
    def dates(self) -> str:
        """``added 2021-06-28, due 2021-07-19``, for tables and pages."""
        parts = [
            f"{label} {day.isoformat()}"
            for label, day in (("added", self.date_added), ("due", self.due_date))
            if day is not None
        ]
        return ", ".join(parts) or "no dates"


class KevCatalog(Struct, frozen=True):
    version: str
    released: datetime | None
    entries: tuple[KnownExploited, ...]
    problems: tuple[str, ...] = ()


class KevImport(Struct, frozen=True):
    version: str
    released: datetime | None
    entries: int
    skipped: int
    sha256: str
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "released": self.released,
            "entries": self.entries,
            "skipped": self.skipped,
            "sha256": self.sha256,
            "origin": self.origin,
        }


def looks_like_kev(data: bytes) -> bool:
    head = data[:4096]
    return b'"catalogVersion"' in head and b'"vulnerabilities"' in data


def parse_kev(data: bytes, where: str) -> KevCatalog:
    """The catalog from its JSON text; entries that do not validate are reported, not kept."""
    if len(data) > MAX_KEV_BYTES:
        raise VulnDbError(f"{where}: over {MAX_KEV_BYTES} bytes: not the KEV catalog")
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise VulnDbError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise VulnDbError(f"{where}: not the KEV catalog (no vulnerabilities list)")
    version = doc.get("catalogVersion")
    if not isinstance(version, str) or not version.strip():
        raise VulnDbError(f"{where}: not the KEV catalog (no catalogVersion)")
    entries: dict[str, KnownExploited] = {}
    problems: list[str] = []
    for index, item in enumerate(doc["vulnerabilities"]):
        try:
            entry = _entry(item)
        except ValueError as exc:
            problems.append(f"vulnerabilities[{index}]: {exc}")
            continue
        entries.setdefault(entry.cve, entry)
    if not entries:
        raise VulnDbError(f"{where}: the KEV catalog lists no valid entry")
    return KevCatalog(version.strip()[:64], _released(doc.get("dateReleased")),
                      tuple(entries.values()), tuple(problems))  # fmt: skip


def _text(item: dict[str, Any], key: str, limit: int = 512) -> str | None:
    value = item.get(key)
    return value[:limit] if isinstance(value, str) and value else None


def _date(item: dict[str, Any], key: str) -> date | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a date")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{key} {value!r} is not an ISO date") from None


def _entry(item: object) -> KnownExploited:
    if not isinstance(item, dict):
        raise ValueError("not an object")
    cve = item.get("cveID")
    if not isinstance(cve, str) or not _CVE.match(cve.strip()):
        raise ValueError(f"cveID {cve!r} is not a CVE id")
    return KnownExploited(
        cve.strip(),
        _date(item, "dateAdded"),
        _date(item, "dueDate"),
        _text(item, "vendorProject"),
        _text(item, "product"),
        _text(item, "vulnerabilityName"),
        _text(item, "knownRansomwareCampaignUse", 32),
    )


def _released(value: object) -> datetime | None:
    from imagetrust.vulndb.osv import parse_timestamp

    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


def save_kev(
    store: Store, catalog: KevCatalog, *, origin: str, sha256: str, now: datetime
) -> KevImport:
    """Replace the stored catalog with ``catalog``, in one transaction; its generation
    goes up when the content changed."""
    with store.transaction() as conn:
        previous = conn.execute(select(kev_catalog.c.id, kev_catalog.c.sha256)).first()
        if previous is None:
            generation = 1
        elif previous.sha256 == sha256:
            generation = int(previous.id)
        else:
            generation = int(previous.id) + 1
        conn.execute(delete(kev_entries))
        conn.execute(delete(kev_catalog))
        conn.execute(
            insert(kev_catalog).values(
                id=generation,
                version=catalog.version,
                released=catalog.released,
                count=len(catalog.entries),
                origin=origin,
                sha256=sha256,
                imported_at=now,
            )
        )
        rows = [
            {
                "cve_id": e.cve,
                "date_added": e.date_added,
                "due_date": e.due_date,
                "vendor": e.vendor,
                "product": e.product,
                "name": e.name,
                "ransomware": e.ransomware,
            }
            for e in catalog.entries
        ]
        for start in range(0, len(rows), 1000):
            conn.execute(insert(kev_entries), rows[start : start + 1000])
    return KevImport(
        catalog.version,
        catalog.released,
        len(catalog.entries),
        len(catalog.problems),
        sha256,
        origin,
    )


def import_kev_file(store: Store, path: Path, *, now: datetime) -> KevImport:
    """``db import`` of a KEV JSON file, offline."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEV_BYTES + 1)
    except OSError as exc:
        raise VulnDbError(f"{path}: unreadable: {exc.strerror or exc}") from None
    catalog = parse_kev(data, str(path))
    digest = hashlib.sha256(data).hexdigest()
    return save_kev(store, catalog, origin=str(path.resolve()), sha256=digest, now=now)


def update_kev(store: Store, settings: Settings, *, now: datetime) -> KevImport:
    """Fetch the catalog from ``[vulndb] kev_url`` and store it (all or nothing)."""
    from imagetrust.http import HttpError, RetryPolicy, WaitBudget, build_client, send_with_retries

    url = settings.vulndb.kev_url
    with build_client(settings.http) as client:
        request = client.build_request("GET", url, headers={"Accept": "application/json"})
        response = send_with_retries(
            client,
            request,
            policy=RetryPolicy.from_settings(settings.http),
            budget=WaitBudget(settings.http.max_wait),
            stream=True,
        )
        try:
            if response.status_code != 200:
                raise HttpError(
                    f"GET {url}: HTTP {response.status_code}", url=url, status=response.status_code
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_KEV_BYTES:
                    raise VulnDbError(f"{url}: over {MAX_KEV_BYTES} bytes: not the KEV catalog")
        finally:
            response.close()
    data = bytes(body)
    catalog = parse_kev(data, url)
    return save_kev(store, catalog, origin=url, sha256=hashlib.sha256(data).hexdigest(), now=now)


def known_exploited(conn: Connection, ids: Iterable[str]) -> dict[str, KnownExploited]:
    """The KEV entries among ``ids`` (CVE ids; anything else is ignored)."""
    wanted = sorted({i for i in ids if i.startswith("CVE-")})
    found: dict[str, KnownExploited] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(kev_entries).where(kev_entries.c.cve_id.in_(wanted[start : start + 500]))
        )
        for row in rows:
            found[row.cve_id] = KnownExploited(
                row.cve_id,
                row.date_added,
                row.due_date,
                row.vendor,
                row.product,
                row.name,
                row.ransomware,
            )
    return found


def kev_generation(conn: Connection) -> tuple[str, int, str | None] | None:
    """(name, generation, version) of the stored catalog, as a database state names a
    source; None while no catalog was imported."""
    row = conn.execute(select(kev_catalog.c.id, kev_catalog.c.version)).first()
    return (KEV_SOURCE, int(row.id), str(row.version)) if row is not None else None


def kev_status(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(kev_catalog)).first()
    if row is None:
        return None
    return {
        "version": row.version,
        "released": row.released,
        "entries": row.count,
        "origin": row.origin,
        "imported_at": row.imported_at,
    }


def flag_known_exploited(conn: Connection, findings: list[Finding]) -> list[Finding]:
    """``findings`` with ``known_exploited`` set where the catalog lists the finding's id, an
    alias, or a CVE its record names as related (distribution advisories such as AlmaLinux's
    ``ALSA-2022:0267`` name the CVE they fix there: PwnKit, CVE-2021-4034)."""
    return ExploitedLookup(lambda: conn).flag(findings)


class ExploitedLookup:
    """``flag_known_exploited`` for many images read against one database state.

    Images share most of their findings' advisories: the CVEs a record names as related and
    the catalog's answer for each id are asked once and remembered, instead of once per
    image (at the size of OSV's distribution feeds, a third of matching an image went into
    asking both again for its ~300 findings). The answers depend only on the live sources
    and the catalog, so keep one only as long as the database state (``scan.
    SharedAdvisories``); ``current`` gives the connection of the read in progress.
    """

    def __init__(self, current: Callable[[], Connection]) -> None:
        self._current = current
        self._has_catalog: bool | None = None
        self._related: dict[str, tuple[str, ...]] = {}
        self._listed: dict[str, KnownExploited | None] = {}

    def flag(self, findings: list[Finding]) -> list[Finding]:
        """``findings``, each flagged as ``flag_known_exploited`` says."""
        from dataclasses import replace

        if not findings:
            return findings
        conn = self._current()
        if self._has_catalog is None:
            self._has_catalog = conn.execute(select(kev_catalog.c.id).limit(1)).first() is not None
        if not self._has_catalog:
            return findings
        new = {f.id for f in findings} - self._related.keys()
        if new:
            related = _related(conn, new)
            self._related.update((ident, related.get(ident, ())) for ident in new)
        names = {f.id: (f.id, *f.aliases, *self._related[f.id]) for f in findings}
        wanted = {i for ids in names.values() for i in ids} - self._listed.keys()
        if wanted:
            listed = known_exploited(conn, wanted)
            self._listed.update((ident, listed.get(ident)) for ident in wanted)
        flagged = []
        for finding in findings:
            entry = next(
                (e for e in (self._listed[i] for i in names[finding.id]) if e is not None), None
            )
            flagged.append(replace(finding, known_exploited=entry) if entry else finding)
        return flagged


def _related(conn: Connection, record_ids: set[str]) -> dict[str, tuple[str, ...]]:
    from imagetrust.store.schema import vuln_records, vuln_sources
    from imagetrust.vulndb.query import live

    found: dict[str, tuple[str, ...]] = {}
    wanted = sorted(record_ids)
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(vuln_records.c.record_id, vuln_records.c.related)
            .select_from(vuln_records.join(vuln_sources, live()))
            .where(vuln_records.c.record_id.in_(wanted[start : start + 500]))
        )
        for record_id, related in rows:
            if isinstance(related, list) and related:
                found[record_id] = found.get(record_id, ()) + tuple(
                    str(r) for r in related if isinstance(r, str)
                )
    return found
