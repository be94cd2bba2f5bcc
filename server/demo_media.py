"""Live HLS test streams for the demo, made on this machine by ffmpeg (when it is installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# name -> lavfi video source; each stream also carries a tone, so sound can be checked too.
TEST_PATTERNS = {
    "main": "testsrc2=size=640x360:rate=25",
    "backup": "smptebars=size=640x360:rate=25",
}


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def hls_command(pattern: str, playlist: Path, tone_hz: int = 440) -> list[str]:
    """ffmpeg arguments for a live HLS stream of a test pattern with a clock burnt in."""
    return [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        pattern,
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={tone_hz}:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "50",
        "-keyint_min",
        "50",
        "-sc_threshold",
        "0",
        "-b:v",
        "600k",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_list_size",
        "6",
        "-hls_flags",
        "delete_segments+independent_segments",
        str(playlist),
    ]


def start_test_streams(media_dir: Path) -> dict[str, subprocess.Popen]:
    """Start one ffmpeg per test pattern; the caller stops them when the demo ends."""
    processes = {}
    for number, (name, pattern) in enumerate(TEST_PATTERNS.items()):
        folder = media_dir / "demo" / name
        folder.mkdir(parents=True, exist_ok=True)
        command = hls_command(pattern, folder / "index.m3u8", tone_hz=440 + 220 * number)
        processes[name] = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    return processes


def stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
