"""Audio that libsndfile cannot read (AAC in .m4a/.aac, ALAC, …), decoded through PyAV (FFmpeg's
libraries; faster-whisper already brings them). Read-only like every decoder here: FFmpeg is handed
the bytes in memory or the file opened for reading, never allowed to write.

A stream that breaks off (a download stopped, a copy interrupted) gives what decodes before the
break: FFmpeg reports the damage as an error on the packet or frame where it happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.model.preprocess import FileContent, UnreadableInput, Waveform


@dataclass(frozen=True)
class AvInfo:
    """What an audio container declares: its sample rate, channels and duration (None when it
    does not say, as raw ADTS AAC does not)."""

    rate: int
    channels: int
    declared_seconds: float | None


def _open(source: str | Path | FileContent):
    import av

    target = source.open() if isinstance(source, FileContent) else str(source)
    return av.open(target, mode="r", metadata_errors="ignore")


def ffmpeg_reason(exc: BaseException) -> str:
    """FFmpeg's complaint without its errno and the path (the caller names the file)."""
    text = str(exc)
    text = text.split(": '")[0]  # FFmpeg appends the path, which the caller names anyway
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text


def _errors():
    import av

    return (av.error.FFmpegError, ValueError, IndexError, OSError, EOFError)


def _audio_stream(container):
    if not container.streams.audio:
        raise UnreadableInput("no audio stream in the file")
    return container.streams.audio[0]


def av_info(source: str | Path | FileContent) -> AvInfo:
    """The container's own word on its audio stream; raises UnreadableInput when FFmpeg cannot
    open it as audio."""
    try:
        with _open(source) as container:
            stream = _audio_stream(container)
            seconds = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1_000_000  # microseconds (AV_TIME_BASE)
            return AvInfo(int(stream.rate or 0), int(stream.channels or 0), seconds)
    except _errors() as exc:
        raise UnreadableInput(f"cannot decode audio (unsupported format or corrupt file): {ffmpeg_reason(exc)}") from None


def av_decode(source: str | Path | FileContent, max_seconds: float | None = None) -> Waveform:
    """The first `max_seconds` (all when None) of the file's first audio stream at its own rate,
    as float32 (n, channels). Decoding stops at the end or the first damaged packet; raises
    UnreadableInput when nothing decodes."""
    import av

    parts: list[np.ndarray] = []
    rate = total = 0
    try:
        with _open(source) as container:
            stream = _audio_stream(container)
            rate = int(stream.rate or 0)
            channels = max(1, int(stream.channels or 1))
            wanted = None if max_seconds is None else int(round(max_seconds * rate))
            resampler = av.AudioResampler(format="flt", layout=stream.layout.name if stream.layout else None,
                                          rate=rate)
            try:
                for frame in container.decode(stream):
                    for converted in resampler.resample(frame):
                        block = converted.to_ndarray().reshape(-1, channels)
                        parts.append(block)
                        total += block.shape[0]
                    if wanted is not None and total >= wanted:
                        break
            except _errors():
                pass  # damage mid-stream: keep what decoded before it
    except _errors() as exc:
        raise UnreadableInput(f"cannot decode audio (unsupported format or corrupt file): {ffmpeg_reason(exc)}") from None
    if not parts or rate <= 0:
        raise UnreadableInput("no audio samples in file")
    samples = np.concatenate(parts)
    if max_seconds is not None:
        samples = samples[: int(round(max_seconds * rate))]
    return Waveform(np.ascontiguousarray(samples, dtype=np.float32), rate)


def av_present_seconds(source: str | Path | FileContent) -> float:
    """Seconds of audio whose packets are present in the file, counted by demuxing (no decoding:
    cheap even for an hour-long recording). A file cut short holds fewer packets than its
    container declares."""
    seconds = 0.0
    try:
        with _open(source) as container:
            stream = _audio_stream(container)
            base = float(stream.time_base) if stream.time_base else 0.0
            try:
                for packet in container.demux(stream):
                    if packet.size and packet.duration:
                        seconds += packet.duration * base
            except _errors():
                pass  # the bytes end or turn to garbage: what came before is what is there
    except _errors() as exc:
        raise UnreadableInput(f"cannot decode audio (unsupported format or corrupt file): {ffmpeg_reason(exc)}") from None
    return seconds
