"""The one owner of every WebRTC peer connection: ingests (WHIP) and watchers (WHEP).

Each room has at most one ingest. Its incoming tracks are fanned out with one MediaRelay
per ingest: every watcher, the HLS packager (a sink) and a drain that keeps the tracks read
when nobody watches (an unread aiortc track queues frames without bound) subscribe to it.
A peer whose connection fails or closes is closed here and everything it held is freed;
closing an ingest closes its watchers; `close_all` runs at shutdown.

Transport-free: SDP in, SDP out. Callers decide who may publish or watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.exceptions import InvalidAccessError
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)
ENDED_STATES = frozenset({"failed", "closed"})


class PeerError(Exception):
    """A publish or watch request the registry cannot serve; the message is for people."""


class RoomBusy(PeerError):
    """Someone is already publishing in this room."""


class NotPublishing(PeerError):
    """Nobody publishes in this room, so there is nothing to watch."""


class WatchersFull(PeerError):
    """The per-process cap on WebRTC watchers is reached."""


class BadOffer(PeerError):
    """The SDP offer cannot be answered (malformed, or no media in the needed direction)."""


class FrameSink(Protocol):
    """Something that consumes an ingest's tracks besides watchers (the HLS packager)."""

    def start(self, tracks: dict[str, MediaStreamTrack]) -> None: ...

    async def stop(self) -> None: ...


@dataclass(eq=False)
class Peer:
    """One peer connection and everything that must be freed with it."""

    id: str
    room_id: int
    role: Literal["ingest", "watcher"]
    pc: RTCPeerConnection
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)
    relay: MediaRelay | None = None  # ingests only: the fan-out of `tracks`
    subscriptions: list[MediaStreamTrack] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)
    sinks: list[FrameSink] = field(default_factory=list)
    on_closed: Callable[[Peer], Awaitable[None]] | None = None
    closed: bool = False


def ice_configuration(
    urls: Iterable[str], username: str = "", credential: str = ""
) -> RTCConfiguration:
    """ICE servers from settings; none at all means host candidates only (LAN, loopback)."""
    urls = list(urls)
    if not urls:
        # Explicitly empty: left as None, aiortc would query Google's public STUN server.
        return RTCConfiguration(iceServers=[])
    server = RTCIceServer(urls=urls, username=username or None, credential=credential or None)
    return RTCConfiguration(iceServers=[server])


class PeerRegistry:
    def __init__(self, configuration: RTCConfiguration, max_watchers: int) -> None:
        self.configuration = configuration
        self.max_watchers = max_watchers
        self._peers: dict[str, Peer] = {}
        self._ingests: dict[int, Peer] = {}
        self._closing: set[asyncio.Task] = set()

    # --- what is there ------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        watchers = sum(1 for peer in self._peers.values() if peer.role == "watcher")
        return {"ingests": len(self._ingests), "watchers": watchers}

    def watchers_of(self, room_id: int) -> int:
        return sum(1 for p in self._peers.values() if p.role == "watcher" and p.room_id == room_id)

    def is_publishing(self, room_id: int) -> bool:
        return room_id in self._ingests

    def peer(self, session_id: str) -> Peer | None:
        return self._peers.get(session_id)

    # --- opening ------------------------------------------------------------------------

    async def publish(
        self,
        room_id: int,
        offer_sdp: str,
        *,
        sinks: Iterable[FrameSink] = (),
        on_closed: Callable[[Peer], Awaitable[None]] | None = None,
    ) -> tuple[Peer, str]:
        """Answer a WHIP offer: the room's ingest, and the SDP answer (all candidates in it)."""
        if room_id in self._ingests:
            raise RoomBusy("someone is already publishing in this room")
        peer = self._new_peer(room_id, "ingest")
        peer.relay, peer.on_closed = MediaRelay(), on_closed
        self._ingests[room_id] = peer  # reserved before any await: one ingest per room

        @peer.pc.on("track")
        def remember(track: MediaStreamTrack) -> None:
            peer.tracks.setdefault(track.kind, track)

        try:
            answer = await self._answer(peer, offer_sdp)
            if not peer.tracks:
                raise BadOffer("the offer sends no audio or video")
            for track in peer.tracks.values():
                drain = self._subscribe(peer, peer, track, buffered=False)
                peer.tasks.append(asyncio.create_task(_drain(drain)))
            for sink in sinks:
                tracks = {
                    kind: self._subscribe(peer, peer, track, buffered=kind == "audio")
                    for kind, track in peer.tracks.items()
                }
                sink.start(tracks)
                peer.sinks.append(sink)
        except BaseException:
            for sink in sinks:
                if sink not in peer.sinks:
                    await sink.stop()
            await self.close(peer.id)
            raise
        return peer, answer

    async def watch(self, room_id: int, offer_sdp: str) -> tuple[Peer, str]:
        """Answer a WHEP offer with the room's ingest, relayed; refuses past the cap."""
        ingest = self._ingests.get(room_id)
        if ingest is None or not ingest.tracks:
            raise NotPublishing("nobody is publishing in this room")
        if self.counts()["watchers"] >= self.max_watchers:
            raise WatchersFull(f"this server already serves {self.max_watchers} WebRTC watchers")
        peer = self._new_peer(room_id, "watcher")  # counted from here, so the cap holds
        try:
            answer = await self._answer(peer, offer_sdp, ingest)
        except BaseException:
            await self.close(peer.id)
            raise
        return peer, answer

    def _new_peer(self, room_id: int, role: Literal["ingest", "watcher"]) -> Peer:
        peer = Peer(secrets.token_urlsafe(16), room_id, role, RTCPeerConnection(self.configuration))
        self._peers[peer.id] = peer

        @peer.pc.on("connectionstatechange")
        def follow_state() -> None:
            if peer.pc.connectionState in ENDED_STATES and not peer.closed:
                log.info("WebRTC %s %s: connection %s", role, peer.id, peer.pc.connectionState)
                self._close_soon(peer.id)

        return peer

    async def _answer(self, peer: Peer, offer_sdp: str, source: Peer | None = None) -> str:
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        # aiortc's SDP parser asserts, indexes and converts without checking first.
        except (AssertionError, ValueError, KeyError, IndexError, InvalidAccessError) as error:
            raise BadOffer(f"the SDP offer cannot be used: {error or 'malformed'}") from error
        if source is not None:
            wanted = {t.kind for t in peer.pc.getTransceivers()} & set(source.tracks)
            if not wanted:
                raise BadOffer("the offer receives none of the published media")
            for kind in sorted(wanted):
                # Video unbuffered: a slow watcher skips frames instead of queueing them.
                track = self._subscribe(source, peer, source.tracks[kind], kind == "audio")
                peer.pc.addTrack(track)
        answer = await peer.pc.createAnswer()
        await peer.pc.setLocalDescription(answer)  # gathers every candidate: no trickle
        return peer.pc.localDescription.sdp

    @staticmethod
    def _subscribe(
        source: Peer, owner: Peer, track: MediaStreamTrack, buffered: bool
    ) -> MediaStreamTrack:
        assert source.relay is not None
        proxy = source.relay.subscribe(track, buffered=buffered)
        owner.subscriptions.append(proxy)
        return proxy

    # --- closing ------------------------------------------------------------------------

    def _close_soon(self, session_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self.close(session_id))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self, session_id: str) -> bool:
        """Close one peer and free what it holds; an ingest takes its watchers with it."""
        peer = self._peers.get(session_id)
        if peer is None or peer.closed:
            return False
        peer.closed = True
        if peer.role == "ingest":
            watchers = [p.id for p in self._peers.values() if p.room_id == peer.room_id]
            for watcher_id in watchers:
                if watcher_id != peer.id and self._peers[watcher_id].role == "watcher":
                    await self.close(watcher_id)
        try:
            for task in peer.tasks:
                task.cancel()
            for sink in peer.sinks:
                with _logged(f"stopping a sink of {peer.id}"):
                    await sink.stop()
            for proxy in peer.subscriptions:
                proxy.stop()
            with _logged(f"closing peer {peer.id}"):
                await peer.pc.close()
            for task in peer.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            self._peers.pop(peer.id, None)
            if self._ingests.get(peer.room_id) is peer:
                del self._ingests[peer.room_id]
            peer.tasks.clear()
            peer.sinks.clear()
            peer.subscriptions.clear()
            peer.tracks.clear()
            peer.relay = None
        if peer.on_closed is not None:
            with _logged(f"after closing {peer.id}"):
                await peer.on_closed(peer)
        return True

    async def close_all(self) -> None:
        """Shutdown: close every peer, ingests first (their watchers go with them)."""
        for peer in sorted(self._peers.values(), key=lambda p: p.role != "ingest"):
            await self.close(peer.id)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


@contextlib.contextmanager
def _logged(what: str):
    """Closing goes on after one part fails to close: log it, free the rest."""
    try:
        yield
    except Exception:
        log.exception("WebRTC: failed %s", what)
