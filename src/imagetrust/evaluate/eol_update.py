"""``imagetrust eol update``: refresh the end-of-life data from the endoflife.date API.

Each product is one ``GET {url}/api/v1/products/<product>/`` (API v1, the ``ProductResponse``
of its OpenAPI document); its releases become the snapshot's release rows: ``eolFrom`` when
the date is known, else ``isEol`` (ended without a date, or not ended), and the same for the
extended support phase (``eoesFrom`` / ``isEoes``, absent or null when a product or release
has none). A product states the date the API generated it (``generated_at``).

All or nothing: every product asked for is fetched and checked before anything is written,
then the new snapshot (the products fetched, over the data in use for the others) replaces
``HOME/eol/endoflife.json`` in one atomic rename. A product the API does not know, a
response of the wrong shape, a server that keeps failing: the update stops with an error
naming it, and the data in use stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from msgspec import Struct

from imagetrust.evaluate.eol import (
    EOL_FORMAT,
    EolData,
    EolProduct,
    EolRelease,
    encode_eol_data,
    home_eol_path,
    load_eol_data,
    product_names,
)
from imagetrust.evaluate.models import EvaluateError

if TYPE_CHECKING:
    from imagetrust.config import Settings

API_PRODUCT_PATH = "/api/v1/products/{product}/"
MAX_RESPONSE_BYTES = 8 << 20  # the largest product (all its releases) is ~100 KB


class _ApiVersion(Struct):
    name: str


class _ApiRelease(Struct, rename="camel"):
    name: str
    codename: str | None = None
    release_date: date | None = None
    is_lts: bool = False
    is_eol: bool = False
    eol_from: date | None = None
    is_eoes: bool | None = None
    eoes_from: date | None = None
    latest: _ApiVersion | None = None


class _ApiProduct(Struct):
    name: str
    label: str
    releases: tuple[_ApiRelease, ...]


class _ApiResponse(Struct):
    result: _ApiProduct
    generated_at: datetime | None = None


class EolUpdateResult(Struct, frozen=True):
    path: Path
    data: EolData
    updated: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "source": self.data.source,
            "origin": self.data.origin,
            "stated_at": self.data.stated_at,
            "fetched_at": self.data.fetched_at,
            "updated": list(self.updated),
            "products": {
                name: {
                    "stated_at": self.data.products[name].stated_at,
                    "fetched_at": self.data.products[name].fetched_at,
                    "releases": len(self.data.products[name].releases),
                }
                for name in sorted(self.data.products)
            },
        }


def parse_product_response(raw: bytes, product: str, *, now: datetime) -> EolProduct:
    """One product from its API response; ``EvaluateError`` naming it when malformed."""
    try:
        response = msgspec.json.decode(raw, type=_ApiResponse)
    except msgspec.DecodeError as exc:
        raise EvaluateError(
            f"endoflife.date product {product}: unexpected response ({exc})"
        ) from None
    result = response.result
    if result.name != product:
        raise EvaluateError(
            f"endoflife.date product {product}: the response is for {result.name!r}"
        )
    stated = response.generated_at.date() if response.generated_at else now.date()
    return EolProduct(
        label=result.label,
        stated_at=stated,
        fetched_at=now,
        releases=tuple(
            EolRelease(
                cycle=release.name,
                codename=release.codename,
                released=release.release_date,
                eol=release.eol_from if release.eol_from is not None else release.is_eol,
                eoes=release.eoes_from if release.eoes_from is not None else release.is_eoes,
                lts=release.is_lts,
                latest=release.latest.name if release.latest is not None else None,
            )
            for release in result.releases
        ),
    )


def fetch_products(
    settings: Settings, products: Sequence[str], *, now: datetime
) -> dict[str, EolProduct]:
    """Every product from the API, or an error: nothing partial is returned."""
    from imagetrust.http import (
        HttpError,
        RetryPolicy,
        WaitBudget,
        build_client,
        send_with_retries,
    )

    base_url = settings.eol.url.rstrip("/")
    fetched: dict[str, EolProduct] = {}
    budget = WaitBudget(settings.http.max_wait)
    policy = RetryPolicy.from_settings(settings.http)
    with build_client(settings.http, base_url=base_url) as client:
        for product in products:
            path = API_PRODUCT_PATH.format(product=product)
            request = client.build_request("GET", path, headers={"Accept": "application/json"})
            response = send_with_retries(client, request, policy=policy, budget=budget, stream=True)
            try:
                if response.status_code == 404:
                    raise EvaluateError(
                        f"endoflife.date has no product {product!r} ({base_url}{path})"
                    )
                if response.status_code != 200:
                    raise HttpError(
                        f"GET {base_url}{path}: HTTP {response.status_code}",
                        url=f"{base_url}{path}",
                        status=response.status_code,
                    )
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw.extend(chunk)
                    if len(raw) > MAX_RESPONSE_BYTES:
                        raise EvaluateError(
                            f"endoflife.date product {product}: response over "
                            f"{MAX_RESPONSE_BYTES} bytes"
                        )
            finally:
                response.close()
            fetched[product] = parse_product_response(bytes(raw), product, now=now)
    return fetched


def update_eol_data(
    settings: Settings,
    home: Path,
    *,
    now: datetime,
    products: Sequence[str] | None = None,
) -> EolUpdateResult:
    """Fetch ``products`` (all the evaluation uses by default) and write the new snapshot."""
    from imagetrust.fsutil import atomic_write_text

    wanted = tuple(dict.fromkeys(products)) if products else product_names()
    fetched = fetch_products(settings, wanted, now=now)
    current = load_eol_data(home)
    merged = {**current.products, **fetched}
    url = settings.eol.url.rstrip("/")
    data = EolData(
        format=EOL_FORMAT,
        source="endoflife.date",
        origin=f"{url}{API_PRODUCT_PATH.format(product='*')}",
        stated_at=min(product.stated_at for product in merged.values()),
        products=merged,
        fetched_at=now,
    )
    path = home_eol_path(home)
    try:
        atomic_write_text(path, encode_eol_data(data))
    except OSError as exc:
        raise EvaluateError(f"cannot write {path}: {exc.strerror or exc}") from None
    return EolUpdateResult(path=path, data=data, updated=tuple(sorted(fetched)))
