"""Real WebRTC clients for WHIP and WHEP: aiortc peers that publish generated media (a flat
grey picture of a known brightness, and a tone) or receive it. Used by tests and bench/."""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass, field

import aiohttp
import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from tests.support import waiting

SDP = "application/sdp"
LOOPBACK = RTCConfiguration(iceServers=[])  # host candidates only: no STUN lookups


class FlatPicture(VideoStreamTrack):
    """A `width`×`height` picture, all one brightness (Y = `luma`), at 30 frames a second."""

    def __init__(self, width: int, height: int, luma: int = 150) -> None:
        super().__init__()
        self.width, self.height, self.luma = width, height, luma

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, value in zip(frame.planes, (self.luma, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class MovingPicture(FlatPicture):
    """A checkerboard over a gradient scrolling down: content an encoder has to work for,
    closer to a camera than a flat picture (benchmarks use it)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self._rows = [
            bytes((x * 2 + y * 3 + (x // 32 + y // 32) % 2 * 70) % 256 for x in range(width))
            for y in range(height)
        ]
        self._texture = b""
        self._row = 0

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        plane = frame.planes[0]
        if not self._texture:  # rows padded to the plane's stride, twice over to scroll
            padded = b"".join(row.ljust(plane.line_size, b"\0") for row in self._rows)
            self._texture = padded * 2
        start = self._row * plane.line_size
        plane.update(self._texture[start : start + plane.line_size * self.height])
        self._row = (self._row + 4) % self.height
        return frame


class Tone(AudioStreamTrack):
    """A 440 Hz tone in 20 ms frames, paced like a microphone."""

    _phase = 0

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()  # silence, with the right timing
        rate, samples = frame.sample_rate, frame.samples
        values = [
            int(8000 * math.sin(2 * math.pi * 440 * (self._phase + n) / rate))
            for n in range(samples)
        ]
        self._phase += samples
        frame.planes[0].update(b"".join(v.to_bytes(2, "little", signed=True) for v in values))
        return frame


def centre_luma(frame: av.VideoFrame) -> float:
    """Mean brightness of the middle row of a received picture."""
    plane = frame.planes[0]
    start = plane.line_size * (frame.height // 2)
    row = bytes(plane)[start : start + frame.width]
    return sum(row) / len(row)


@dataclass
class Session:
    """One client peer and the WHIP/WHEP session URL the server gave it."""

    pc: RTCPeerConnection
    location: str
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)

    async def next_frame(self, kind: str = "video", timeout: float = 15):
        """The next decoded frame of `kind`; waits for the track to arrive first."""
        deadline = asyncio.get_running_loop().time() + timeout
        while kind not in self.tracks:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {kind} track arrived")
            await asyncio.sleep(0.05)
        remaining = deadline - asyncio.get_running_loop().time()
        return await asyncio.wait_for(self.tracks[kind].recv(), remaining)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


class SdpRefused(Exception):
    def __init__(self, status: int, headers, body) -> None:
        super().__init__(f"{status}: {body}")
        self.status, self.headers, self.body = status, headers, body


async def exchange(
    http: aiohttp.ClientSession, url: str, pc: RTCPeerConnection, headers: dict[str, str]
) -> str:
    """POST the local offer; set the answer; return the session's Location."""
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(
        url, data=pc.localDescription.sdp, headers={"Content-Type": SDP, **headers}
    ) as response:
        if response.status != 201:
            body = await (
                response.json() if response.content_type == "application/json" else response.text()
            )
            await pc.close()
            raise SdpRefused(response.status, response.headers, body)
        assert response.content_type == SDP
        answer, location = await response.text(), response.headers["Location"]
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return location


async def publish(
    http: aiohttp.ClientSession,
    room_id: int,
    headers: dict[str, str],
    width: int = 320,
    height: int = 240,
    luma: int = 150,
    moving: bool = False,
) -> Session:
    """Publish a flat (or moving) picture and a tone to the room over WHIP."""
    pc = RTCPeerConnection(LOOPBACK)
    picture = MovingPicture(width, height) if moving else FlatPicture(width, height, luma)
    pc.addTransceiver(picture, direction="sendonly")
    pc.addTransceiver(Tone(), direction="sendonly")
    location = await exchange(http, f"/whip/rooms/{room_id}", pc, headers)
    return Session(pc, location)


async def watch(
    http: aiohttp.ClientSession, room_id: int, headers: dict[str, str] | None = None
) -> Session:
    """Watch the room over WHEP; received tracks are collected as they arrive."""
    pc = RTCPeerConnection(LOOPBACK)
    session = Session(pc, "")
    pc.on("track", lambda track: session.tracks.setdefault(track.kind, track))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    session.location = await exchange(http, f"/whep/rooms/{room_id}", pc, headers or {})
    return session


async def wait_until(predicate, timeout: float = 15, what: str = "condition") -> None:
    """Peers connect and close in seconds, not milliseconds: a longer wait by default."""
    await waiting.wait_until(predicate, timeout, what)
