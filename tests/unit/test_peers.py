"""The peer registry on its own: real aiortc peers on loopback, SDP handed over directly."""

from __future__ import annotations

from aiortc import RTCPeerConnection, RTCSessionDescription

from streams.peers import (
    BadOffer,
    NotPublishing,
    PeerRegistry,
    RoomBusy,
    WatchersFull,
    ice_configuration,
)
from tests.support.webrtc_client import LOOPBACK, FlatPicture, Tone, wait_until

LOCAL = ice_configuration([])


async def offer_from(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


async def answered(pc: RTCPeerConnection, answer: str) -> None:
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))


def publisher() -> RTCPeerConnection:
    pc = RTCPeerConnection(LOOPBACK)
    pc.addTransceiver(FlatPicture(160, 120), direction="sendonly")
    pc.addTransceiver(Tone(), direction="sendonly")
    return pc


def watcher() -> RTCPeerConnection:
    pc = RTCPeerConnection(LOOPBACK)
    pc.addTransceiver("video", direction="recvonly")
    return pc


class RecordingSink:
    def __init__(self, fail_on_stop: bool = False) -> None:
        self.kinds: set[str] = set()
        self.stopped = False
        self.fail_on_stop = fail_on_stop

    def start(self, tracks) -> None:
        self.kinds = set(tracks)

    async def stop(self) -> None:
        self.stopped = True
        if self.fail_on_stop:
            raise RuntimeError("disk full")


def test_without_ice_servers_no_public_stun_server_is_asked():
    assert ice_configuration([]).iceServers == []  # None would mean Google's STUN server
    turn = ice_configuration(["turn:turn.example.org:3478"], "user", "secret").iceServers
    assert [(s.urls, s.username, s.credential) for s in turn] == [
        (["turn:turn.example.org:3478"], "user", "secret")
    ]


async def test_one_ingest_per_room_a_capped_number_of_watchers_and_everything_freed():
    registry = PeerRegistry(LOCAL, max_watchers=1)
    ended = []

    async def on_closed(peer) -> None:
        ended.append(peer.room_id)

    sinks = [RecordingSink(fail_on_stop=True)]
    source = publisher()
    ingest, answer = await registry.publish(
        1, await offer_from(source), sinks=sinks, on_closed=on_closed
    )
    await answered(source, answer)
    assert sinks[0].kinds == {"audio", "video"}
    assert set(ingest.tracks) == {"audio", "video"}
    second = publisher()
    try:
        await registry.publish(1, await offer_from(second))
        raise AssertionError("a second ingest in one room was accepted")
    except RoomBusy:
        pass
    await second.close()

    viewer = watcher()
    seen, answer = await registry.watch(1, await offer_from(viewer))
    await answered(viewer, answer)
    await wait_until(lambda: viewer.connectionState == "connected", what="the watcher to connect")
    assert registry.counts() == {"ingests": 1, "watchers": 1}
    for room, error in ((1, WatchersFull), (2, NotPublishing)):
        extra = watcher()
        try:
            await registry.watch(room, await offer_from(extra))
            raise AssertionError(f"watching room {room} should have failed")
        except error:
            pass
        await extra.close()
    assert registry.counts() == {"ingests": 1, "watchers": 1}

    assert await registry.close(ingest.id)  # its watcher goes with it; the failing sink too
    assert registry.counts() == {"ingests": 0, "watchers": 0}
    assert sinks[0].stopped and ended == [1]
    assert ingest.subscriptions == [] and ingest.relay is None and seen.subscriptions == []
    assert not await registry.close(ingest.id)  # closing twice is harmless
    await wait_until(lambda: viewer.connectionState in ("closed", "failed"))
    for pc in (source, viewer):
        await pc.close()


async def test_unusable_offers_are_refused_and_leave_nothing_behind():
    registry = PeerRegistry(LOCAL, max_watchers=5)
    for sdp in ("v=0\r\nnonsense\r\n", "v=0\r\n"):
        try:
            await registry.publish(1, sdp)
            raise AssertionError("a malformed offer was accepted")
        except BadOffer:
            pass
    receive_only = watcher()  # offers to receive, not to send: nothing to publish
    try:
        await registry.publish(1, await offer_from(receive_only))
        raise AssertionError("an offer sending nothing was accepted")
    except BadOffer:
        pass
    await receive_only.close()
    assert registry.counts() == {"ingests": 0, "watchers": 0} and not registry.is_publishing(1)


async def test_close_all_closes_ingests_and_watchers_of_every_room():
    registry = PeerRegistry(LOCAL, max_watchers=5)
    clients = []
    for room in (1, 2):
        source = publisher()
        _, answer = await registry.publish(room, await offer_from(source))
        await answered(source, answer)
        viewer = watcher()
        _, answer = await registry.watch(room, await offer_from(viewer))
        await answered(viewer, answer)
        clients += [source, viewer]
    assert registry.counts() == {"ingests": 2, "watchers": 2}
    await registry.close_all()
    assert registry.counts() == {"ingests": 0, "watchers": 0}
    for pc in clients:
        await pc.close()
