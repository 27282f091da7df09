#!/usr/bin/env python3
"""Build the end-of-life snapshot that ships in the package, from endoflife.date's own files.

endoflife.date keeps one Markdown file per product (``products/<name>.md``) whose YAML front
matter holds the release table; this reads the products imagetrust maps OS releases and
runtimes to (``imagetrust.evaluate.eol.product_names``) and writes the compact JSON that
``imagetrust.evaluate.eol`` loads. The snapshot states the date of the files it was built
from (the commit date of the checkout, given with ``--stated-at``), which is what
evaluation compares with a refresh from the API (``imagetrust eol update``).

Run with the project's environment (it imports imagetrust and PyYAML), e.g.:

    .venv/bin/python scripts/build-eol-snapshot.py ../shared/data/endoflife \\
        --stated-at 2026-08-22 \\
        --origin "endoflife-date/endoflife.date @ a70eca3 (2026-08-22), products/*.md"
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from imagetrust.evaluate.eol import (
    BUNDLED_PATH,
    EOL_FORMAT,
    EolData,
    EolProduct,
    EolRelease,
    encode_eol_data,
    product_names,
)


def front_matter(text: str, where: Path) -> dict[str, Any]:
    if not text.startswith("---"):
        raise SystemExit(f"{where}: no YAML front matter")
    _, _, rest = text.partition("\n")
    body, sep, _ = rest.partition("\n---")
    if not sep:
        raise SystemExit(f"{where}: the front matter does not end")
    data = yaml.safe_load(body)
    if not isinstance(data, dict):
        raise SystemExit(f"{where}: the front matter is not a mapping")
    return data


def end_value(value: Any, where: str) -> date | bool | None:
    """A date, ``true`` (ended, no date) or ``false`` (no end announced), as the files say."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise SystemExit(f"{where}: expected a date or a boolean, got {value!r}")


def release_of(item: dict[str, Any], where: str) -> EolRelease:
    cycle = item.get("releaseCycle")
    if not isinstance(cycle, str):
        raise SystemExit(f"{where}: releaseCycle {cycle!r} is not a string")
    released = item.get("releaseDate")
    latest = item.get("latest")
    return EolRelease(
        cycle=cycle,
        codename=str(item["codename"]) if item.get("codename") else None,
        released=released.date()
        if isinstance(released, datetime)
        else released
        if isinstance(released, date)
        else None,
        eol=end_value(item.get("eol"), f"{where} {cycle} eol"),
        eoes=end_value(item.get("eoes"), f"{where} {cycle} eoes"),
        lts=bool(item.get("lts")),
        latest=str(latest) if latest is not None else None,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("products_dir", type=Path, help="endoflife.date products/ folder")
    parser.add_argument("--stated-at", required=True, type=date.fromisoformat)
    parser.add_argument("--origin", required=True, help="where the files come from")
    parser.add_argument("--out", type=Path, default=BUNDLED_PATH)
    args = parser.parse_args()
    products: dict[str, EolProduct] = {}
    for name in product_names():
        path = args.products_dir / f"{name}.md"
        if not path.is_file():
            print(f"no file for {name}: evaluation will say its data is unknown", file=sys.stderr)
            continue
        matter = front_matter(path.read_text(encoding="utf-8"), path)
        releases = matter.get("releases")
        if not isinstance(releases, list):
            raise SystemExit(f"{path}: no releases list")
        products[name] = EolProduct(
            label=str(matter.get("title") or name),
            stated_at=args.stated_at,
            releases=tuple(release_of(item, str(path)) for item in releases),
        )
    data = EolData(
        format=EOL_FORMAT,
        source="endoflife.date",
        origin=args.origin,
        stated_at=args.stated_at,
        products=products,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(encode_eol_data(data), encoding="utf-8")
    count = sum(len(p.releases) for p in products.values())
    print(f"wrote {args.out}: {len(products)} products, {count} releases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
