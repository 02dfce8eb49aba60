"""Audio tower: the aisfx trunk exported to ONNX matches aisfx in torch, and the runtime front end
(soundfile + soxr + numpy blocking) handles short, broken and empty files cleanly."""
from __future__ import annotations

import os

import numpy as np
import pytest

from core.model.audio import AudioTower, blocks, load_waveform
from core.model.preprocess import UnreadableInput
from tests.conftest import DEMO

SOUNDS = DEMO / "sounds"
BLOCK, AISFX_HOP, HOP = 103424, 51200, 102400


@pytest.fixture(scope="module")
def trunk(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("aisfx")
    pytest.importorskip("librosa")
    os.environ.setdefault("NUMBA_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "numba-cache"))
    from training import export_audio_trunk

    out = tmp_path_factory.mktemp("audio-model")
    settings = export_audio_trunk.export(out)
    assert settings["sample_rate"] == 44100 and settings["block_samples"] == BLOCK
    return out / export_audio_trunk.TRUNK_FILE


def test_onnx_trunk_matches_aisfx_in_torch(trunk):
    from training.export_audio_trunk import parity

    # 48 kHz stereo, 4 blocks (resampling, downmix, blocking) and 1.5 s stereo (< 1 block, padded).
    rows = parity({"onnx": trunk}, [SOUNDS / "alarm_clock.ogg", SOUNDS / "phone_ringing.ogg"])
    assert [row["blocks"] for row in rows] == [4, 1]
    for row in rows:
        assert row["onnx"] >= 0.99, row
        assert row["onnx_worst_block"] >= 0.99, row


def test_embed_short_clips_and_failures(trunk, tmp_path):
    import soundfile as sf

    short = tmp_path / "beep.wav"  # 0.3 s at 16 kHz: far less than one 2.35 s block
    t = np.arange(4800) / 16000
    sf.write(str(short), (0.3 * np.sin(2 * np.pi * 880 * t)).astype(np.float32), 16000)
    silent = tmp_path / "silence.flac"
    sf.write(str(silent), np.zeros(8000, np.float32), 8000)
    truncated = tmp_path / "truncated.ogg"
    truncated.write_bytes((SOUNDS / "cow.ogg").read_bytes()[:3000])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")

    tower = AudioTower(trunk, None)
    features = tower.trunk_features(tower.load(short))
    assert features.shape == (1, 512) and np.isfinite(features).all()
    result = tower.embed([short, truncated, empty, silent, SOUNDS / "cat.ogg"])
    vectors, errors = result.vectors, result.errors
    assert errors[0] is None and errors[3] is None and errors[4] is None
    assert "cannot decode audio" in errors[1]
    assert "empty file" in errors[2]
    assert vectors.shape == (5, 512)
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 3, 4]], axis=1), 1.0, atol=1e-5)
    assert not vectors[[1, 2]].any()


def test_unreadable_inputs_raise_clean_errors(tmp_path):
    garbage = tmp_path / "noise.mp3"
    garbage.write_bytes(np.random.default_rng(0).bytes(4000))
    empty = tmp_path / "empty.ogg"
    empty.write_bytes(b"")
    cases = {garbage: "cannot decode audio", empty: "empty file", tmp_path / "missing.wav": "file not found",
             tmp_path: "not a regular file"}
    for path, message in cases.items():
        with pytest.raises(UnreadableInput, match=message):
            load_waveform(path, 44100)
    # No file readable: no session is ever opened, so a missing trunk does not matter here.
    result = AudioTower(tmp_path / "no-trunk.onnx", None).embed(list(cases))
    vectors, errors = result.vectors, result.errors
    assert vectors.size == 0 and all(errors)  # no width known: nothing was embedded


def test_blocks_follow_aisfx_framing():
    sr = 44100
    # aisfx: 1 + n // 1024 frames; blocks of 100 frames every 50, partial tail dropped, >= 1 block.
    for seconds, expected in [(0.1, 1), (2.0, 1), (3.5, 2), (6.02, 4), (10.0, 7)]:
        cut = blocks(np.ones(int(seconds * sr), np.float32), BLOCK, AISFX_HOP)
        assert cut.shape == (expected, BLOCK), seconds
    wave = np.arange(1, 5 * sr + 1, dtype=np.float32)
    cut = blocks(wave, BLOCK, AISFX_HOP)
    assert (cut[0, :1024] == 0).all() and cut[0, 1024] == 1  # librosa's centre padding
    assert cut[1, 0] == wave[AISFX_HOP - 1024]
    # Whole-block hop keeps an end-aligned block when >= half a block would go unseen.
    assert len(blocks(wave, BLOCK, HOP, keep_tail=True)) == 2  # 5 s: two regular blocks, tail < half
    four = wave[: 4 * sr]
    tail = blocks(four, BLOCK, HOP, keep_tail=True)
    assert len(blocks(four, BLOCK, HOP)) == 1
    assert len(tail) == 2 and tail[-1, -1 - 1024] == four[-1]
    assert len(blocks(np.ones(int(2.6 * sr), np.float32), BLOCK, HOP, keep_tail=True)) == 1
