"""A big room's cached recipient list follows joins, leaves and sockets going direct."""

from __future__ import annotations

import pytest

from server.app_keys import SOCKETS
from server.realtime.direct_sockets import DirectSocket
from server.realtime.fanout import CACHED_ROOM_MIN_MEMBERS, FanoutManager
from tests.e2e.test_captions import captions_received
from tests.e2e.test_fanout import assert_gapless, engine_sid, upgrading_client, wait_until
from tests.e2e.test_webcast import caption_of, caption_token, post_caption, watch
from tests.support.clients import LiveClient, Podium
from tests.support.live_state import receive_through

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def cached_sockets(podium: Podium, room: str) -> set:
    manager: FanoutManager = podium.app[SOCKETS].manager
    direct, queued, _ = manager._recipients[("/viewer", room)]
    assert queued == []
    return {socket for socket, _transport in direct}


def room_sockets(podium: Podium, room: str) -> set:
    """The engine.io sockets of the room's members, as python-socketio lists them."""
    server = podium.app[SOCKETS]
    sockets = server.eio.sockets
    return {sockets[eio_sid] for _, eio_sid in server.manager.get_participants("/viewer", room)}


async def approve_next(podium: Podium, moderator, asker, listener: LiveClient) -> int:
    question = await asker.ask("Which room is the panel in?")
    status, body = await moderator.command("POST", f"/questions/{question['id']}/approve")
    assert status == 200, body
    return (await listener.ok("sync", {}))["seq"]


@sqlite_only
async def test_joiners_get_the_next_broadcast_and_leavers_are_dropped_from_the_list(podium):
    moderator = await podium.staff("moderator")
    asker = await podium.viewer("Asker")
    viewers = [await podium.viewer(f"Viewer {n}") for n in range(CACHED_ROOM_MIN_MEMBERS)]
    lives = [await podium.live_viewer(viewer) for viewer in viewers]
    start = (await lives[0].ok("sync"))["seq"]
    rooms = podium.app[SOCKETS].manager.rooms["/viewer"]
    room = next(r for r in rooms if isinstance(r, str) and r.startswith("event:"))

    first = await approve_next(podium, moderator, asker, lives[0])
    assert cached_sockets(podium, room) == room_sockets(podium, room)
    assert len(cached_sockets(podium, room)) == CACHED_ROOM_MIN_MEMBERS

    # A viewer joining after the list was made gets the next broadcast, and so does one
    # that joins on long-polling (queued) before it upgrades.
    joiner = await podium.live_viewer(await podium.viewer("Late viewer"))
    joined_at = (await joiner.ok("sync"))["seq"]
    upgrader = await upgrading_client(podium, (await podium.viewer("Upgrader")).token)
    upgraded_at = (await upgrader.ok("sync"))["seq"]
    middle = await approve_next(podium, moderator, asker, joiner)
    assert_gapless(await receive_through(joiner, middle), joined_at)
    assert_gapless(await receive_through(upgrader, middle), upgraded_at)

    # Once it has upgraded, it is on the direct list; a viewer who left is off it.
    sockets = podium.app[SOCKETS].eio.sockets
    await wait_until(lambda: sockets[engine_sid(upgrader)].__class__ is DirectSocket)
    await wait_until(lambda: sockets[engine_sid(upgrader)].direct)
    gone = sockets[engine_sid(lives[0])]
    await lives[0].close()
    await wait_until(lambda: gone not in room_sockets(podium, room))
    stayed = lives[1:]

    second = await approve_next(podium, moderator, asker, stayed[0])
    assert second > middle > first
    for live in stayed:
        assert_gapless(await receive_through(live, second), start)
    assert_gapless(await receive_through(joiner, second), joined_at)
    assert_gapless(await receive_through(upgrader, second), upgraded_at)
    assert cached_sockets(podium, room) == room_sockets(podium, room)
    assert len(cached_sockets(podium, room)) == len(stayed) + 2
    assert gone not in cached_sockets(podium, room)


@sqlite_only
async def test_a_connected_viewer_starting_or_stopping_to_watch_gets_captions_accordingly(podium):
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    main, side = podium.rooms["main"], podium.rooms["side"]
    token = await caption_token(admin, main, "Main captioner")
    lives = [
        await podium.live_viewer(await podium.viewer(f"Viewer {n}"))
        for n in range(CACHED_ROOM_MIN_MEMBERS + 2)  # the room stays big enough to be cached
    ]
    watchers, latecomer = lives[:-1], lives[-1]
    for live in watchers:
        await watch(live, main)
    await post_caption(anonymous, token, "Welcome")
    for live in watchers:
        await live.wait_for(caption_of("Welcome"))

    # Both are connected (direct) already: only their rooms change, one per broadcast.
    leaver = watchers.pop()
    await watch(leaver, side)
    await post_caption(anonymous, token, "First question")
    for live in watchers:
        await live.wait_for(caption_of("First question"))
    await watch(latecomer, main)
    await post_caption(anonymous, token, "Second question")
    for live in [*watchers, latecomer]:
        await live.wait_for(caption_of("Second question"))
    await leaver.ok("sync")  # a round trip: a caption would have arrived before its answer
    assert [line["text"] for line in captions_received(leaver)] == ["Welcome"]
    assert [line["text"] for line in captions_received(latecomer)] == ["Second question"]
