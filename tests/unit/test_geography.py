"""A coarse country from a browser's time zone, and checking self-declared country codes.

These read the tz database installed on the machine (system zoneinfo or the tzdata package).
"""

from __future__ import annotations

import pytest

from server.domain import geography
from server.domain.geography import BACKWARD_LINKS, country_for_time_zone, normalise_country


@pytest.mark.parametrize(
    ("tz_name", "country"),
    [
        ("Europe/London", "GB"),
        ("Europe/Dublin", "IE"),
        ("Europe/Paris", "FR"),
        ("America/New_York", "US"),
        ("Asia/Kolkata", "IN"),
        ("Australia/Sydney", "AU"),
    ],
)
def test_canonical_zone_maps_to_its_country(tz_name, country):
    assert country_for_time_zone(tz_name) == country


@pytest.mark.parametrize(
    ("tz_name", "country"),
    [
        ("Europe/Belfast", "GB"),
        ("GB", "GB"),
        ("US/Eastern", "US"),
        ("Asia/Calcutta", "IN"),
    ],
)
def test_old_alias_maps_to_the_country_of_its_canonical_zone(tz_name, country):
    assert country_for_time_zone(tz_name) == country


@pytest.mark.parametrize(("tz_name", "country"), [("Europe/Zurich", "CH"), ("Europe/Berlin", "DE")])
def test_zone_shared_by_several_countries_maps_to_the_one_zone_tab_names(tz_name, country):
    assert country_for_time_zone(tz_name) == country


@pytest.mark.parametrize("tz_name", ["UTC", "Etc/UTC", "Etc/GMT+5", "Mars/Olympus_Mons", "", "GMT"])
def test_zone_without_a_country_maps_to_none(tz_name):
    assert country_for_time_zone(tz_name) is None


def test_every_built_in_alias_points_at_a_zone_with_a_country():
    unresolved = [alias for alias in BACKWARD_LINKS if country_for_time_zone(alias) is None]
    assert unresolved == []


@pytest.mark.parametrize(
    ("declared", "normalised"),
    [("gb", "GB"), ("IE", "IE"), (" fr ", "FR"), ("Us", "US")],
)
def test_known_country_code_is_normalised_to_upper_case(declared, normalised):
    assert normalise_country(declared) == normalised


@pytest.mark.parametrize("declared", [None, "", "UK", "ZZ", "GBR", "g", "12"])
def test_unknown_country_code_is_dropped(declared):
    assert normalise_country(declared) is None


@pytest.fixture
def fresh_zone_table():
    geography._zone_table.cache_clear()
    yield
    geography._zone_table.cache_clear()


def test_zone_tables_are_read_from_the_first_tzpath_directory_holding_them(
    tmp_path, monkeypatch, fresh_zone_table
):
    (tmp_path / "zone1970.tab").write_text(
        "# comment\nCH,DE,LI\t+4723+00832\tEurope/Zurich\tBüsingen\n"
        "NL\t+5222+00454\tEurope/Amsterdam\n",
        encoding="utf-8",
    )
    (tmp_path / "zone.tab").write_text("DE\t+4723+00832\tEurope/Zurich\n", encoding="utf-8")
    monkeypatch.setattr(geography.zoneinfo, "TZPATH", (str(tmp_path / "missing"), str(tmp_path)))
    assert country_for_time_zone("Europe/Zurich") == "DE"
    assert country_for_time_zone("Europe/Amsterdam") == "NL"
    assert normalise_country("li") == "LI"
    assert country_for_time_zone("Europe/London") is None


def test_without_a_tz_database_nothing_is_guessed(monkeypatch, fresh_zone_table):
    monkeypatch.setattr(geography, "_read_tz_file", lambda file_name: None)
    assert country_for_time_zone("Europe/London") is None
    assert normalise_country("GB") is None
