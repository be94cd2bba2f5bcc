"""A coarse country for a viewer, from the time zone their browser reports; no IP lookup.

The zone-to-country table comes from the IANA tz database's zone.tab and zone1970.tab, found
where `zoneinfo` itself looks: the system TZPATH first, then the `tzdata` package.
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

# Old names browsers still report that zone.tab no longer lists, each pointing at the
# canonical zone (tzdata's "backward" file). Only common ones; unlisted aliases yield None.
BACKWARD_LINKS: dict[str, str] = {
    "GB": "Europe/London",
    "GB-Eire": "Europe/London",
    "Europe/Belfast": "Europe/London",
    "Eire": "Europe/Dublin",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Nicosia": "Asia/Nicosia",
    "Poland": "Europe/Warsaw",
    "Portugal": "Europe/Lisbon",
    "Turkey": "Europe/Istanbul",
    "Asia/Istanbul": "Europe/Istanbul",
    "W-SU": "Europe/Moscow",
    "Iceland": "Atlantic/Reykjavik",
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Arizona": "America/Phoenix",
    "US/Pacific": "America/Los_Angeles",
    "US/Alaska": "America/Anchorage",
    "US/Hawaii": "Pacific/Honolulu",
    "Canada/Atlantic": "America/Halifax",
    "Canada/Eastern": "America/Toronto",
    "Canada/Central": "America/Winnipeg",
    "Canada/Mountain": "America/Edmonton",
    "Canada/Pacific": "America/Vancouver",
    "America/Montreal": "America/Toronto",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "Brazil/East": "America/Sao_Paulo",
    "Mexico/General": "America/Mexico_City",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Dacca": "Asia/Dhaka",
    "PRC": "Asia/Shanghai",
    "Asia/Chongqing": "Asia/Shanghai",
    "ROC": "Asia/Taipei",
    "ROK": "Asia/Seoul",
    "Japan": "Asia/Tokyo",
    "Hongkong": "Asia/Hong_Kong",
    "Singapore": "Asia/Singapore",
    "Israel": "Asia/Jerusalem",
    "Iran": "Asia/Tehran",
    "Egypt": "Africa/Cairo",
    "Australia/ACT": "Australia/Sydney",
    "Australia/NSW": "Australia/Sydney",
    "Australia/Canberra": "Australia/Sydney",
    "Australia/Victoria": "Australia/Melbourne",
    "Australia/Queensland": "Australia/Brisbane",
    "Australia/South": "Australia/Adelaide",
    "Australia/West": "Australia/Perth",
    "NZ": "Pacific/Auckland",
}


@dataclass(frozen=True)
class _ZoneTable:
    country_by_zone: dict[str, str]
    known_codes: frozenset[str]


def country_for_time_zone(tz_name: str) -> str | None:
    """The ISO 3166 alpha-2 code of the country using `tz_name`; None for UTC or unknown."""
    table = _zone_table().country_by_zone
    name = tz_name.strip()
    # Try the name as given first: a tz release may list a zone this table calls an alias.
    return table.get(name) or table.get(BACKWARD_LINKS.get(name, ""))


def normalise_country(code: str | None) -> str | None:
    """A self-declared country code in upper case, or None if the tz database lacks it."""
    if code is None:
        return None
    upper = code.strip().upper()
    return upper if upper in _zone_table().known_codes else None


@functools.lru_cache(maxsize=1)
def _zone_table() -> _ZoneTable:
    country_by_zone: dict[str, str] = {}
    known_codes: set[str] = set()
    # zone.tab goes last so its single code wins where zone1970.tab lists several countries
    # sharing a zone (e.g. "CH,DE,LI  Europe/Zurich"); zone1970's first code is the fallback.
    for file_name in ("zone1970.tab", "zone.tab"):
        for codes, zone in _read_rows(file_name):
            country_by_zone[zone] = codes[0]
            known_codes.update(codes)
    return _ZoneTable(country_by_zone, frozenset(known_codes))


def _read_rows(file_name: str) -> list[tuple[list[str], str]]:
    """(country codes, zone name) rows of a tz table; empty when no copy is installed."""
    text = _read_tz_file(file_name)
    if text is None:
        return []
    rows = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        codes, _coordinates, zone, *_comments = line.split("\t")
        rows.append((codes.split(","), zone))
    return rows


def _read_tz_file(file_name: str) -> str | None:
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / file_name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        resource = importlib.resources.files("tzdata").joinpath("zoneinfo", file_name)
    except ModuleNotFoundError:
        return None
    return resource.read_text(encoding="utf-8") if resource.is_file() else None
