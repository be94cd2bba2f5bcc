"""Settings: every one documented, overridable by file and environment, checked at load."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from server.settings import (
    BOUNDS,
    CHOICES,
    CONFIG_DIR,
    DEFAULTS_FILE,
    Settings,
    SettingsError,
    documented_setting_names,
    load_settings,
)

SETTING_NAMES = [field.name for field in fields(Settings)]
DEFAULTS_LINES = DEFAULTS_FILE.read_text().splitlines()


def comment_above(name: str) -> list[str]:
    """The block of comment lines directly above `name = ...` in defaults.toml."""
    index = next(i for i, line in enumerate(DEFAULTS_LINES) if re.match(rf"{name}\s*=", line))
    block: list[str] = []
    for line in reversed(DEFAULTS_LINES[:index]):
        if not line.startswith("#"):
            break
        block.insert(0, line)
    return block


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "podium.toml"
    path.write_text(text)
    return path


def test_every_setting_is_listed_in_defaults_toml_and_nothing_else_is():
    assert documented_setting_names() == set(SETTING_NAMES)


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_every_setting_has_a_comment_directly_above_it_in_defaults_toml(name):
    block = comment_above(name)
    assert block, f"{name} has no comment line directly above it"
    assert any(line.lstrip("# ").strip() for line in block), f"{name}'s comment is blank"


@pytest.mark.parametrize("name", list(BOUNDS))
def test_documented_range_of_each_bounded_setting_matches_the_enforced_bounds(name):
    low, high = BOUNDS[name]
    assert f"({low}-{high})" in " ".join(comment_above(name))


def test_defaults_load_without_any_environment():
    settings = load_settings(env={})
    assert (settings.port, settings.log_level, settings.allowed_origins) == (8080, "INFO", ())


def test_test_config_file_overrides_the_defaults():
    settings = load_settings(CONFIG_DIR / "test.toml", env={})
    assert (settings.port, settings.log_level, settings.question_rate_per_minute) == (
        0,
        "WARNING",
        600,
    )


def test_environment_overrides_an_integer_setting_as_an_integer():
    settings = load_settings(env={"PODIUM_PORT": "9000", "PODIUM_CATCHUP_MAX_ENTRIES": " 50 "})
    assert (settings.port, settings.catchup_max_entries) == (9000, 50)


def test_environment_overrides_a_list_setting_as_comma_separated_values():
    env = {"PODIUM_ALLOWED_ORIGINS": " https://a.example.org, https://b.example.org:8443 ,"}
    settings = load_settings(env=env)
    assert settings.allowed_origins == ("https://a.example.org", "https://b.example.org:8443")


def test_environment_overrides_a_string_setting_verbatim():
    assert load_settings(env={"PODIUM_LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"


def test_environment_variables_without_the_prefix_or_for_unknown_settings_are_ignored():
    settings = load_settings(env={"PORT": "1", "PODIUM_NO_SUCH_SETTING": "x"})
    assert settings.port == 8080


def test_non_numeric_integer_in_the_environment_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="PODIUM_PORT must be a whole number"):
        load_settings(env={"PODIUM_PORT": "eighty"})


def test_environment_wins_over_the_config_file_and_keyword_overrides_win_over_both(tmp_path):
    config = write_config(tmp_path, "port = 1000\nlog_level = 'ERROR'\nhost = '0.0.0.0'\n")
    settings = load_settings(
        config, env={"PODIUM_PORT": "2000", "PODIUM_LOG_LEVEL": "DEBUG"}, port=3000
    )
    assert (settings.host, settings.log_level, settings.port) == ("0.0.0.0", "DEBUG", 3000)


@pytest.mark.parametrize(("name", "bounds"), BOUNDS.items())
def test_bounded_setting_accepts_both_ends_of_its_range(name, bounds):
    for value in bounds:
        assert getattr(load_settings(env={}, **{name: value}), name) == value


@pytest.mark.parametrize(("name", "bounds"), BOUNDS.items())
def test_bounded_setting_just_outside_its_range_is_refused(name, bounds):
    low, high = bounds
    for value in (low - 1, high + 1):
        with pytest.raises(SettingsError, match=f"{name}.*outside {low}..{high}"):
            load_settings(env={}, **{name: value})


def test_out_of_bounds_value_from_the_environment_is_refused():
    with pytest.raises(SettingsError, match="outside"):
        load_settings(env={"PODIUM_PORT": "70000"})


@pytest.mark.parametrize(("name", "choices"), CHOICES.items())
def test_setting_with_choices_refuses_anything_else(name, choices):
    assert getattr(load_settings(env={}, **{name: choices[-1]}), name) == choices[-1]
    with pytest.raises(SettingsError, match="must be one of"):
        load_settings(env={}, **{name: choices[0].lower() + "x"})


@pytest.mark.parametrize("value", ["80", 80.0, True])
def test_setting_of_the_wrong_type_is_refused(value):
    with pytest.raises(SettingsError, match="'port' must be of type int"):
        load_settings(env={}, port=value)


def test_wildcard_allowed_origin_is_refused_from_a_config_file(tmp_path):
    with pytest.raises(SettingsError, match="explicit http"):
        load_settings(write_config(tmp_path, 'allowed_origins = ["*"]\n'), env={})


def test_wildcard_allowed_origin_is_refused_from_the_environment():
    with pytest.raises(SettingsError, match="explicit http"):
        load_settings(env={"PODIUM_ALLOWED_ORIGINS": "https://a.example.org,*"})


@pytest.mark.parametrize("origin", ["example.org", "ftp://example.org", "null"])
def test_allowed_origin_without_an_http_scheme_is_refused(origin):
    with pytest.raises(SettingsError):
        load_settings(env={}, allowed_origins=[origin])


def test_public_url_without_an_http_scheme_is_refused():
    with pytest.raises(SettingsError, match="public_url"):
        load_settings(env={}, public_url="podium.example.org")


def test_unknown_key_in_a_config_file_is_refused_naming_it(tmp_path):
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        load_settings(write_config(tmp_path, "prot = 9000\n"), env={})


def test_unknown_keyword_override_is_refused():
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        load_settings(env={}, prot=9000)


def test_malformed_config_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(write_config(tmp_path, "port = \n"), env={})


def test_missing_config_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(tmp_path / "absent.toml", env={})


@pytest.mark.parametrize(
    ("public_url", "origin"),
    [
        ("https://podium.example.org", "https://podium.example.org"),
        ("https://podium.example.org/events/42/", "https://podium.example.org"),
        ("http://localhost:8443/", "http://localhost:8443"),
    ],
)
def test_allowed_origins_default_to_the_origin_of_public_url(public_url, origin):
    settings = load_settings(env={}, public_url=public_url)
    assert settings.effective_allowed_origins == (origin,)


def test_without_public_url_the_allowed_origin_is_the_bind_address():
    settings = load_settings(env={}, host="127.0.0.1", port=9000)
    assert settings.effective_allowed_origins == ("http://127.0.0.1:9000",)


def test_explicit_allowed_origins_replace_the_public_url_origin():
    settings = load_settings(
        env={}, public_url="https://podium.example.org", allowed_origins=["https://a.example.org"]
    )
    assert settings.effective_allowed_origins == ("https://a.example.org",)


@pytest.mark.parametrize(
    "public_url",
    [
        "https://Podium.Example.org",
        "https://podium.example.org:443",
        "http://podium.example.org:80",
    ],
)
def test_allowed_origin_derived_from_public_url_is_what_a_browser_sends(public_url):
    settings = load_settings(env={}, public_url=public_url)
    scheme = public_url.split(":", 1)[0]
    assert settings.effective_allowed_origins == (f"{scheme}://podium.example.org",)


def test_with_overrides_validates_like_a_fresh_load():
    settings = load_settings(env={})
    assert settings.with_overrides(port=9001).port == 9001
    with pytest.raises(SettingsError):
        settings.with_overrides(port=-1)


def test_settings_are_frozen():
    settings = load_settings(env={})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
