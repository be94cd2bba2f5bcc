"""Packages a WebRTC ingest as HLS (H.264 + AAC in MPEG-TS segments) with PyAV.

aiortc hands over decoded frames, so there is nothing to remux: video is encoded again with
libx264 at the ingest's resolution. Encoding runs in a worker thread so that the event loop
(and every other peer) never waits on x264. Frames are stamped with their arrival time:
the RTP clocks of audio and video start at unrelated random values, so arrival is the only
shared clock that needs no RTCP bookkeeping, and its jitter is far below what HLS shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.video.frame import PictureType

log = logging.getLogger(__name__)
PLAYLIST = "index.m3u8"
VIDEO_CLOCK = Fraction(1, 90_000)
AUDIO_RATE = 48_000
WINDOW_SEGMENTS = 6  # sliding window: about 12 s of 2 s segments stay on disk
MAX_QUEUED_FRAMES = 120  # past this the encoder is behind: video frames are dropped
_STOP = object()


def _own_copy(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """A yuv420p copy of `frame`, cropped to `width`×`height`. The relay hands the same frame
    to every watcher's encoder, so its timestamps and picture type must not be touched."""
    frame = frame.reformat(format="yuv420p")  # may return `frame` itself: copy below
    copy = av.VideoFrame(width, height, "yuv420p")
    for target, source in zip(copy.planes, frame.planes, strict=True):
        rows, stride, length = bytearray(target.buffer_size), source.line_size, target.width
        data = memoryview(source)
        for y in range(target.height):
            start = y * target.line_size
            rows[start : start + length] = data[y * stride : y * stride + length]
        target.update(rows)
    return copy


class HlsPackager:
    """A FrameSink writing `<folder>/index.m3u8` and its segments while the ingest lasts."""

    def __init__(self, folder: Path, segment_seconds: int = 2, preset: str = "ultrafast"):
        self.folder = folder
        self.segment_seconds = segment_seconds
        self.preset = preset
        self._frames: queue.Queue = queue.Queue(maxsize=MAX_QUEUED_FRAMES)
        self._readers: list[asyncio.Task] = []
        self._worker: threading.Thread | None = None
        self.dropped_frames = 0

    @property
    def playlist(self) -> Path:
        return self.folder / PLAYLIST

    def start(self, tracks: dict[str, MediaStreamTrack]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in (*self.folder.glob("*.ts"), *self.folder.glob("*.m3u8*")):
            old.unlink()  # a previous session's segments would be served as this one's
        self._worker = threading.Thread(
            target=self._encode, args=(set(tracks),), name=f"hls {self.folder.name}", daemon=True
        )
        self._worker.start()
        started = time.monotonic()
        self._readers = [
            asyncio.create_task(self._read(kind, track, started)) for kind, track in tracks.items()
        ]

    async def stop(self) -> None:
        """Stop reading, flush the encoders and close the playlist (it ends with ENDLIST)."""
        for reader in self._readers:
            reader.cancel()
        for reader in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if self._worker is not None:
            await asyncio.to_thread(self._frames.put, _STOP)
            await asyncio.to_thread(self._worker.join)
            self._worker = None

    async def _read(self, kind: str, track: MediaStreamTrack, started: float) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                item = (kind, frame, time.monotonic() - started)
                try:
                    self._frames.put_nowait(item)
                except queue.Full:
                    if kind == "audio":  # gaps in sound are worse than a skipped picture
                        await asyncio.to_thread(self._frames.put, item)
                    else:
                        self.dropped_frames += 1

    # --- the worker thread ----------------------------------------------------------------

    def _encode(self, kinds: set[str]) -> None:
        try:
            self._mux(kinds)
        except Exception:
            log.exception("HLS packaging of %s stopped", self.folder)
            while self._frames.get() is not _STOP:  # keep the readers from blocking
                pass

    def _mux(self, kinds: set[str]) -> None:
        container = None
        video = audio = None
        next_keyframe = 0.0
        last_video_pts = -1
        audio_pts = None
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        while (item := self._frames.get()) is not _STOP:
            kind, frame, at = item
            if container is None:
                if kind != "video" and "video" in kinds:
                    continue  # the picture's size is known from its first frame only
                container, video, audio = self._open(kinds, frame)
            if kind == "video":
                pts = max(round(at / VIDEO_CLOCK), last_video_pts + 1)
                last_video_pts = pts
                frame = _own_copy(frame, video.width, video.height)
                frame.pts, frame.time_base = pts, VIDEO_CLOCK
                # Segments can only start on a keyframe: force one every segment length.
                frame.pict_type = PictureType.I if at >= next_keyframe else PictureType.NONE
                if at >= next_keyframe:
                    next_keyframe = at + self.segment_seconds
                packets = video.encode(frame)
            else:
                packets = []
                for sound in resampler.resample(frame):  # new frames: ours to stamp
                    if audio_pts is None:
                        audio_pts = round(at * AUDIO_RATE)
                    sound.pts, sound.time_base = audio_pts, Fraction(1, AUDIO_RATE)
                    audio_pts += sound.samples
                    packets += audio.encode(sound)
            for packet in packets:
                container.mux(packet)
        if container is not None:
            for stream in (video, audio):
                if stream is not None:
                    for packet in stream.encode(None):
                        container.mux(packet)
            container.close()

    def _open(self, kinds: set[str], first: av.VideoFrame | av.AudioFrame):
        options = {
            "hls_time": str(self.segment_seconds),
            "hls_list_size": str(WINDOW_SEGMENTS),
            "hls_flags": "delete_segments+independent_segments+temp_file",
            "hls_segment_filename": str(self.folder / "segment%05d.ts"),
        }
        container = av.open(str(self.playlist), mode="w", format="hls", options=options)
        video = audio = None
        if "video" in kinds:
            video = container.add_stream("libx264", rate=30)
            # yuv420p needs even sides; an odd row or column is cropped off.
            video.width, video.height = first.width // 2 * 2, first.height // 2 * 2
            video.pix_fmt = "yuv420p"
            video.codec_context.time_base = VIDEO_CLOCK
            video.options = {
                "preset": self.preset,
                "tune": "zerolatency",
                # Keyframes only where _mux asks for them, so segments are of equal length.
                "x264-params": "scenecut=0:keyint=infinite",
            }
        if "audio" in kinds:
            audio = container.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "stereo"
        return container, video, audio
