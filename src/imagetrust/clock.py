"""One clock for every date decision.

End-of-life, staleness, exception expiry and report dates must all agree and be
reproducible, so nothing calls ``datetime.now()`` directly: the CLI builds one ``Clock``
from ``--now`` / ``IMAGETRUST_NOW`` (or the real time) and hands it down.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from msgspec import Struct

from imagetrust.errors import UsageError


def parse_instant(text: str) -> datetime:
    """Parse ``YYYY-MM-DD`` or an ISO 8601 date-time into an aware UTC datetime.

    A bare date means midnight UTC; a date-time without an offset is taken as UTC.
    """
    raw = text.strip()
    if not raw:
        raise UsageError("empty date: expected YYYY-MM-DD or an ISO 8601 date-time")
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid date {text!r}: expected YYYY-MM-DD or an ISO 8601 date-time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Clock(Struct, frozen=True):
    """The time the whole command runs at; ``fixed`` pins it for reproducible output."""

    fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()

    @classmethod
    def from_text(cls, text: str | None) -> Clock:
        return cls(parse_instant(text)) if text else cls()
