"""Settings: defaults from config/defaults.toml, then an optional TOML file, then PODIUM_* env."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULTS_FILE = CONFIG_DIR / "defaults.toml"
ENV_PREFIX = "PODIUM_"


class SettingsError(ValueError):
    """A setting is missing, of the wrong type or out of bounds."""


# name -> (low, high) inclusive bounds for integer settings
BOUNDS: dict[str, tuple[int, int]] = {
    "port": (0, 65535),  # 0 lets the OS pick, which tests use
    "max_request_bytes": (1024, 1_048_576),
    "max_socket_message_bytes": (1024, 1_048_576),
    "socket_write_buffer_max_bytes": (16_384, 67_108_864),
    "staff_session_hours": (1, 168),
    "question_rate_per_minute": (1, 600),
    "vote_rate_per_minute": (1, 6000),
    "login_rate_per_minute": (1, 600),
    "vote_broadcast_interval_ms": (50, 5000),
    "catchup_max_entries": (10, 100_000),
    "write_batch_max": (1, 10_000),
    "question_length_cap": (50, 5000),
    "stream_check_seconds": (1, 600),
    "stream_failures_before_switch": (1, 10),
    "caption_rate_per_minute": (1, 6000),
    "heartbeat_seconds": (5, 300),
    "heartbeat_flush_seconds": (1, 300),
    "heartbeat_timeout_seconds": (10, 3600),
    "purge_check_minutes": (1, 1440),
    "viewer_count_seconds": (1, 60),
    "webrtc_max_watchers": (0, 10_000),
    "webrtc_hls_segment_seconds": (1, 10),
}
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix", "redis+sentinel"})
CHOICES: dict[str, tuple[str, ...]] = {
    "cookie_secure": ("auto", "always", "never"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "event_loop": ("auto", "uvloop", "asyncio"),
    "webrtc_hls": ("off", "on"),
    "webrtc_hls_preset": ("ultrafast", "superfast", "veryfast"),
}
ICE_SCHEMES = ("stun:", "turn:", "turns:")


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    public_url: str
    allowed_origins: tuple[str, ...]
    data_dir: str
    database_url: str
    secret_key: str
    max_request_bytes: int
    max_socket_message_bytes: int
    socket_write_buffer_max_bytes: int
    redis_url: str
    redis_channel: str
    staff_session_hours: int
    cookie_secure: str
    question_rate_per_minute: int
    vote_rate_per_minute: int
    login_rate_per_minute: int
    vote_broadcast_interval_ms: int
    catchup_max_entries: int
    write_batch_max: int
    question_length_cap: int
    stream_check_seconds: int
    stream_failures_before_switch: int
    caption_rate_per_minute: int
    heartbeat_seconds: int
    heartbeat_flush_seconds: int
    heartbeat_timeout_seconds: int
    purge_check_minutes: int
    viewer_count_seconds: int
    webrtc_max_watchers: int
    webrtc_ice_urls: tuple[str, ...]
    webrtc_ice_username: str
    webrtc_ice_credential: str
    webrtc_hls: str
    webrtc_hls_segment_seconds: int
    webrtc_hls_preset: str
    log_level: str
    event_loop: str

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_allowed_origins(self) -> tuple[str, ...]:
        """Origins as browsers send them: lower case, without default ports."""
        configured = self.allowed_origins or (self.effective_public_url,)
        return tuple(_origin_of(url) for url in configured)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.data_dir).resolve() / 'podium.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings changed, validated like a fresh load."""
        return _validated(replace(self, **changes))


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read defaults, then `config_file`, then environment, then keyword overrides."""
    values = _read_toml(DEFAULTS_FILE)
    if config_file:
        for key, value in _read_toml(Path(config_file)).items():
            _require_known(key, values)
            values[key] = value
    environ = os.environ if env is None else env
    for key in list(values):
        raw = environ.get(ENV_PREFIX + key.upper())
        if raw is not None:
            values[key] = _parse_env(key, raw, values[key])
    for key, value in overrides.items():
        _require_known(key, values)
        values[key] = value
    values["allowed_origins"] = tuple(values["allowed_origins"])
    values["webrtc_ice_urls"] = tuple(values["webrtc_ice_urls"])
    return _validated(Settings(**values))


def ensure_secret_key(settings: Settings) -> Settings:
    """Return settings with a secret key, generating and keeping one in data_dir if unset."""
    if settings.secret_key:
        return settings
    key_file = Path(settings.data_dir) / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return replace(settings, secret_key=key_file.read_text().strip())


def documented_setting_names() -> set[str]:
    return set(_read_toml(DEFAULTS_FILE))


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in {("http", 80), ("https", 443)}:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read settings file {path}: {error}") from error


def _require_known(key: str, values: dict[str, Any]) -> None:
    if key not in values:
        raise SettingsError(f"unknown setting {key!r}")


def _parse_env(key: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as error:
            raise SettingsError(f"{ENV_PREFIX}{key.upper()} must be a whole number") from error
    if isinstance(default, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _validated(settings: Settings) -> Settings:
    for field in fields(settings):
        value = getattr(settings, field.name)
        expected = {"int": int, "str": str, "tuple[str, ...]": tuple}[str(field.type)]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise SettingsError(f"setting {field.name!r} must be of type {field.type}")
        if field.name in BOUNDS:
            low, high = BOUNDS[field.name]
            if not low <= value <= high:
                raise SettingsError(f"setting {field.name!r}={value} is outside {low}..{high}")
        if field.name in CHOICES and value not in CHOICES[field.name]:
            raise SettingsError(f"setting {field.name!r} must be one of {CHOICES[field.name]}")
    for origin in settings.allowed_origins:
        if origin == "*" or urlsplit(origin).scheme not in {"http", "https"}:
            raise SettingsError(f"allowed origin {origin!r} must be an explicit http(s) origin")
    for url in settings.webrtc_ice_urls:
        if not url.startswith(ICE_SCHEMES):
            raise SettingsError(f"ICE server {url!r} must start with stun:, turn: or turns:")
    if settings.redis_url and urlsplit(settings.redis_url).scheme not in REDIS_SCHEMES:
        raise SettingsError(f"redis_url must start with one of {sorted(REDIS_SCHEMES)}")
    if not settings.redis_channel:
        raise SettingsError("redis_channel must not be empty")
    if settings.public_url and urlsplit(settings.public_url).scheme not in {"http", "https"}:
        raise SettingsError("public_url must start with http:// or https://")
    return settings
