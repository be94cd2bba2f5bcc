"""Which client manager the settings choose, and how the Redis settings are checked."""

from __future__ import annotations

import pytest

from server.realtime.fanout import FanoutManager, RedisFanoutManager, make_client_manager
from server.settings import CONFIG_DIR, SettingsError, load_settings


def settings(**overrides):
    return load_settings(CONFIG_DIR / "test.toml", env={}, **overrides)


def test_one_process_alone_uses_the_in_process_fast_manager():
    manager = make_client_manager(settings())
    assert type(manager) is FanoutManager


def test_a_redis_url_shares_emits_on_the_installations_channel():
    manager = make_client_manager(
        settings(redis_url="redis://127.0.0.1:6379/0", redis_channel="podium-east")
    )
    assert isinstance(manager, RedisFanoutManager)
    assert (manager.redis_url, manager.channel) == ("redis://127.0.0.1:6379/0", "podium-east")


@pytest.mark.parametrize("url", ["http://cache:6379", "localhost:6379", "amqp://queue"])
def test_a_redis_url_that_is_not_redis_is_refused(url):
    with pytest.raises(SettingsError, match="redis_url"):
        settings(redis_url=url)


def test_an_empty_channel_is_refused():
    with pytest.raises(SettingsError, match="redis_channel"):
        settings(redis_channel="")


@pytest.mark.parametrize("size", [1024, 100_000_000])
def test_the_write_buffer_cap_has_bounds(size):
    with pytest.raises(SettingsError, match="socket_write_buffer_max_bytes"):
        settings(socket_write_buffer_max_bytes=size)


async def test_listeners_hear_every_emit_before_delivery_even_with_nobody_connected():
    manager = FanoutManager()
    heard = []
    manager.add_listener(lambda *emit: heard.append(emit))
    await manager.emit("update", {"seq": 1}, "/viewer", room="event:1")
    await manager.emit("mine", {"n": 2}, "/viewer", to="viewer:3")
    assert heard == [
        ("/viewer", "event:1", "update", {"seq": 1}),
        ("/viewer", "viewer:3", "mine", {"n": 2}),
    ]


async def test_a_failing_listener_neither_stops_the_emit_nor_the_other_listeners():
    manager = FanoutManager()
    heard = []

    def broken(*emit):
        raise RuntimeError("bug in a listener")

    manager.add_listener(broken)
    manager.add_listener(lambda *emit: heard.append(emit))
    await manager.emit("update", {"seq": 1}, "/viewer", room="event:1")
    assert heard == [("/viewer", "event:1", "update", {"seq": 1})]
