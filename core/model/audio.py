"""Audio tower: decode → mono 44.1 kHz → peak-normalise → blocks → ONNX trunk → pool.

Runtime only (numpy, soundfile, soxr, onnxruntime); no torch, no librosa. The trunk is the aisfx
sound-effects CNN exported by `training.export_audio_trunk`, with its STFT / mel / log front end
inside the graph: it takes raw waveform blocks and gives one 512-d vector per block.

Choices, matching aisfx's own pipeline (see the export script for the parameters):
- Decoding: libsndfile via soundfile (wav, flac, ogg/vorbis/opus, mp3 with libsndfile ≥ 1.1, aiff…),
  and what libsndfile does not take (AAC in .m4a/.aac, ALAC) through PyAV (core.model.av_decode).
  Channels are averaged, then resampled with soxr "HQ" (what librosa.load uses). At most
  `MAX_SECONDS` (60 s) are read from the start of a file; longer recordings are described by their
  first minute. A file cut short (a copy interrupted, a download stopped) is described by what
  decodes: libsndfile already stops at the end of the bytes present for WAV/AIFF/Ogg/MP3, and a
  FLAC whose decoder loses sync is read again block by block up to the failing block
  (`decoded_blocks`). Saying that the file is truncated is the indexer's job (core.media.extract).
- The whole clip is scaled to peak 1 (aisfx does; a silent clip stays zeros).
- Blocks: the waveform gets n_fft/2 = 1024 zeros in front (librosa's centred STFT) and is cut
  into blocks of 103424 samples (100 STFT frames, 2.35 s) every `hop_samples`. aisfx hops half a
  block (51200) and drops a trailing partial block; the app default hops a whole block (102400:
  half the compute; pooled cosine to aisfx's half-block hop 0.995–1.0 on the demo sounds) and, with
  `keep_tail`, adds one end-aligned block when at least half a block of audio would go unseen.
  A clip shorter than one block is zero-padded to one block: zeros are what aisfx's own padding of
  the log-mel gives (log10(1 + 0) = 0), so short clips match aisfx.
- Pooling: the mean of the block vectors (default); "meanmax" gives the
  mean of mean- and max-pooling, still 512-d. Clips with more than `max_blocks` blocks use
  `max_blocks` evenly spaced ones.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from core.model.preprocess import FileContent, UnreadableInput, Waveform, decode_error, l2_normalise
from core.model.towers import Embeddings, LazySessions, embed_files, run_session

MAX_SECONDS = 60.0
CENTER_PAD = 1024  # n_fft // 2 of the aisfx front end: frame t is centred on sample t·1024
FRAME_HOP = 1024
SALVAGE_BLOCK = 4096  # frames per read when salvaging a broken file: FLAC's usual block size


def _sound_file(source: str | Path | FileContent):
    import soundfile as sf

    return sf.SoundFile(source.open() if isinstance(source, FileContent) else str(source))


def decoded_blocks(path: str | Path | FileContent, frames: int | None = None, block: int = SALVAGE_BLOCK):
    """Yield (n, channels) float32 blocks from the start of `path` (at most `frames` in all; all when
    None) until the end or the first decode error: what a damaged file still gives. Opening errors
    propagate; a decode error stops the blocks. Read-only, like every read here."""
    import soundfile as sf

    with _sound_file(path) as f:
        left = frames
        while left is None or left > 0:
            want = block if left is None else min(block, left)
            try:
                data = f.read(frames=want, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError):
                return
            if data.shape[0] == 0:
                return
            yield data
            if left is not None:
                left -= data.shape[0]


def _check_readable(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UnreadableInput("file not found") from None
    except OSError as exc:
        raise UnreadableInput(f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableInput("not a regular file")  # FIFOs would block; directories cannot decode
    if info.st_size == 0:
        raise UnreadableInput("empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise UnreadableInput("permission denied")


def decode_file(path: str | Path | FileContent, max_seconds: float = MAX_SECONDS) -> Waveform:
    """The first `max_seconds` of an audio file (or its bytes in memory) at its own rate and
    channels, or raise UnreadableInput saying why (missing, not a file, empty, not audio, no
    samples). A truncated file gives what decodes."""
    import soundfile as sf

    if isinstance(path, FileContent):
        if not path.data:
            raise UnreadableInput("empty file (0 bytes)")
    else:
        path = Path(path)
        _check_readable(path)
    try:
        with _sound_file(path) as f:
            source_rate, declared = int(f.samplerate), int(f.frames)
            wanted = int(round(max_seconds * source_rate))
            limit = min(declared, wanted) if declared > 0 else wanted
            try:
                data = f.read(frames=limit, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                # One read of a cut FLAC fails as a whole ("decoder lost sync"): keep what decodes.
                # Whole files never come here, so their samples are exactly the one read's.
                parts = list(decoded_blocks(path, limit))
                if not parts:
                    raise exc
                data = np.concatenate(parts)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OverflowError, MemoryError) as exc:
        return _decoded_by_av(path, max_seconds, exc)
    except OSError as exc:
        raise UnreadableInput(f"cannot read file: {exc.strerror or exc}") from None
    if data.shape[0] == 0:
        raise UnreadableInput("no audio samples in file")
    return Waveform(data, source_rate)


def _decoded_by_av(path: Path | FileContent, max_seconds: float, libsndfile_error: BaseException) -> Waveform:
    """What FFmpeg (PyAV) decodes of a file libsndfile does not take (AAC in .m4a/.aac, ALAC…);
    raises UnreadableInput with libsndfile's reason when FFmpeg cannot read it either (the usual
    case for a file that is not audio at all)."""
    from core.model.av_decode import av_decode

    try:
        return av_decode(path, max_seconds)
    except UnreadableInput:
        raise UnreadableInput(f"cannot decode audio (unsupported format or corrupt file): "
                              f"{decode_error(libsndfile_error, path)}") from None


def mono_at(waveform: Waveform, sample_rate: int, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """float32 mono at `sample_rate`, the first `max_seconds` of `waveform`."""
    samples = np.asarray(waveform.samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[0] == 0 or waveform.rate <= 0:
        raise UnreadableInput(f"not a waveform: shape {samples.shape} at {waveform.rate} Hz")
    samples = samples[: int(round(max_seconds * waveform.rate))]
    mono = samples.mean(axis=1, dtype=np.float32)
    if not np.isfinite(mono).all():
        mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    if waveform.rate != sample_rate:
        import soxr

        mono = soxr.resample(mono, waveform.rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def load_waveform(source: str | Path | Waveform, sample_rate: int, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """float32 mono at `sample_rate` from a file or a waveform in memory (first `max_seconds`);
    raises UnreadableInput."""
    waveform = source if isinstance(source, Waveform) else decode_file(source, max_seconds)
    return mono_at(waveform, sample_rate, max_seconds)


def peak_normalise(waveform: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    return (waveform / peak).astype(np.float32) if peak > 0 else waveform.astype(np.float32)


def blocks(waveform: np.ndarray, block_samples: int, hop_samples: int, keep_tail: bool = False,
           center_pad: int = CENTER_PAD) -> np.ndarray:
    """(n_blocks, block_samples) float32 blocks of the centre-padded waveform.

    The regular blocks follow aisfx's blocking of STFT frames (1 + n // 1024 frames, blocks of
    `block_frames` frames every `hop_frames`, trailing partial block dropped, at least one block).
    With `keep_tail`, when that drop would leave at least half a block of audio unseen, one more
    block aligned to the end of the clip is added (so a long hop never ignores the end of a clip).
    Missing samples (a clip shorter than one block) are zeros."""
    n = int(waveform.shape[0])
    frames = 1 + n // FRAME_HOP
    block_frames = (block_samples - 2 * center_pad) // FRAME_HOP + 1
    hop_frames = max(1, hop_samples // FRAME_HOP)
    count = (frames - block_frames) // hop_frames + 1 if frames >= block_frames else 1
    starts = [i * hop_samples for i in range(count)]
    padded_length = n + 2 * center_pad
    if keep_tail and padded_length - (starts[-1] + block_samples) >= block_samples // 2:
        starts.append(padded_length - block_samples)
    padded = np.zeros(max(padded_length, starts[-1] + block_samples), np.float32)
    padded[center_pad : center_pad + n] = waveform
    return np.stack([padded[s : s + block_samples] for s in starts])


def pool(features: np.ndarray, pooling: str = "mean") -> np.ndarray:
    if pooling == "mean":
        return features.mean(axis=0)
    if pooling == "meanmax":
        return 0.5 * (features.mean(axis=0) + features.max(axis=0))
    raise ValueError(f"unknown audio pooling {pooling!r}")


class AudioTower:
    """`embed(files or waveforms)` → unit vectors: trunk features per block, pooled per clip, then the optional
    head (input `features` (batch, 512), output `embedding`)."""

    def __init__(self, trunk: Path, head: Path | None, sample_rate: int = 44100, block_samples: int = 103424,
                 hop_samples: int = 102400, max_blocks: int = 64, threads: int | None = None,
                 pooling: str = "mean", keep_tail: bool = True, max_seconds: float = MAX_SECONDS,
                 batch_blocks: int = 16, dim: int | None = None):
        self.dim = dim
        self.trunk, self.head = Path(trunk), Path(head) if head else None
        self.sample_rate, self.block_samples, self.hop_samples = int(sample_rate), int(block_samples), int(hop_samples)
        self.max_blocks, self.pooling, self.max_seconds = int(max_blocks), pooling, float(max_seconds)
        self.batch_blocks, self.keep_tail = int(batch_blocks), bool(keep_tail)
        self._sessions = LazySessions(threads)

    def load(self, source: str | Path | Waveform) -> np.ndarray:
        return load_waveform(source, self.sample_rate, self.max_seconds)

    def blocks(self, waveform: np.ndarray) -> np.ndarray:
        cut = blocks(peak_normalise(waveform), self.block_samples, self.hop_samples, self.keep_tail)
        if len(cut) > self.max_blocks:
            cut = cut[np.linspace(0, len(cut) - 1, self.max_blocks).round().astype(int)]
        return cut

    def trunk_features(self, waveform: np.ndarray) -> np.ndarray:
        """(n_blocks, 512) for a mono waveform at `sample_rate` (peak normalisation happens here)."""
        cut = self.blocks(waveform)
        session = self._sessions.get(self.trunk)
        parts = [run_session(session, {"waveform": cut[i : i + self.batch_blocks]})["features"]
                 for i in range(0, len(cut), self.batch_blocks)]
        return np.concatenate(parts).astype(np.float32)

    def pooled_features(self, source: str | Path | Waveform) -> np.ndarray:
        """(512,) pooled trunk features of one file or waveform; raises UnreadableInput."""
        return pool(self.trunk_features(self.load(source)), self.pooling).astype(np.float32)

    def embed_features(self, pooled: np.ndarray) -> np.ndarray:
        if self.head:
            return l2_normalise(run_session(self._sessions.get(self.head), {"features": pooled})["embedding"])
        return l2_normalise(pooled)

    def embed(self, sources: list, batch_size: int = 16) -> Embeddings:
        """One unit row per recording (a file path or a Waveform)."""
        return embed_files(sources, self.pooled_features, self.embed_features, batch_size, self.dim)
