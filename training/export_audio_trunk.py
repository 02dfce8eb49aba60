"""Export the aisfx sound-effects CNN (with its mel front end) to `audio_trunk.onnx`.

    python -m training.export_audio_trunk --out DIR [--int8] [--check CLIP ...]

Source: the `aisfx` package (Ma & Lerch, ISMIR 2022; MIT code, CC BY 4.0 weights, credit them).
Install it with `pip install --no-deps aisfx` (its metadata pins librosa 0.9 / numpy 1.23) plus
`librosa==0.11.0`; both are needed here only, never at run time.

What aisfx does to a clip (aisfx/inference.py + spectrogram/spectrogram_librosa.py, librosa path):
  1. librosa.load(sr=44100): mono (channel mean), resampled with soxr "HQ".
  2. peak normalisation: y / max|y| (left alone when the clip is all zeros).
  3. librosa.feature.melspectrogram: n_fft = win_length = 2048, hop 1024, periodic Hann window,
     center=True with *zero* padding (librosa ≥ 0.10 default), power 2, 96 HTK mel bands over
     0–22050 Hz, each filter normalised to unit sum (norm=1).
  4. log10(10000 · mel + 1), then divided by 9.457798957824707 (the "original" min/max scaling).
  5. blocks of 100 frames (≈ 2.32 s) with a hop of 50 frames, the last partial block dropped
     (at least one block; a short clip is zero-padded, and zero mel frames are what silence gives).
  6. EmbeddingNet (4 conv blocks, 64→512 channels): mean over mel bins, max over time → 512-d.
Note: the package's librosa path forgets to transpose the (mels, frames) spectrogram to the
(frames, mels) layout its Essentia path (the one the model was trained with) produces; we use
(frames, mels), i.e. what the network was trained on.

The exported graph takes what step 5 needs, as raw audio: `waveform` (batch, 103424) float32 —
101 · 1024 samples at 44.1 kHz, i.e. the 100 centred STFT frames of one block including their
half-window context. The STFT (the ONNX STFT op), mel projection (a librosa-computed constant), log and
scaling run inside the graph; peak normalisation (a whole-clip statistic), the centre padding and the
blocking happen in numpy (`core.model.audio`). Output: `features` (batch, 512). The app hops a whole
block (102400 samples) instead of aisfx's half block, keeping an end-aligned tail block: half the
compute, pooled cosine to aisfx's blocking 0.995–1.0 on the demo sounds (bench/embed_audio.py).
Dynamic int8 quantisation is *not* used: cosine to fp32 0.60–0.87 per block and 3× slower here.
"""
from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np

SAMPLE_RATE = 44100
N_FFT = 2048
HOP = 1024
N_MELS = 96
F_MIN, F_MAX = 0.0, 22050.0
LOG_SCALE = 10000.0
NORM_MAX = 9.457798957824707  # aisfx "original" min/max: mn = 0, mx = this
BLOCK_FRAMES = 100
HOP_FRAMES = 50
BLOCK_SAMPLES = (BLOCK_FRAMES + 1) * HOP  # 103424: frames 0..99 centred at 0, 1024, … with ±1024 context
AISFX_HOP_SAMPLES = HOP_FRAMES * HOP  # 51200: aisfx's half-block hop (used for parity)
HOP_SAMPLES = 2 * AISFX_HOP_SAMPLES  # 102400: the app's whole-block hop (half the compute)
CENTER_PAD = N_FFT // 2  # zeros before the clip, as librosa's center=True
OPSET = 17
TRUNK_FILE = "audio_trunk.onnx"
TRUNK_INT8_FILE = "audio_trunk.int8.onnx"


def runtime_settings(pooling: str = "mean") -> dict:
    """What `core.model.audio.AudioTower` needs to use the exported trunk."""
    return {
        "sample_rate": SAMPLE_RATE,
        "block_samples": BLOCK_SAMPLES,
        "hop_samples": HOP_SAMPLES,
        "keep_tail": True,
        "pooling": pooling,
    }


# --- torch side ----------------------------------------------------------------------------------

def load_embedding_net():
    """aisfx's EmbeddingNet('max', 3, 1, 64) with the packaged X-Sequential-CE weights, eval mode."""
    import torch
    from aisfx.inference import get_path_modelWeights
    from aisfx.models.cnn2d import EmbeddingNet

    weights, _ds_dict = torch.load(get_path_modelWeights(), map_location="cpu", weights_only=False)
    prefix = "embedding_net."
    state = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    net = EmbeddingNet("max", 3, 1, 64)
    net.load_state_dict(state, strict=True)
    return net.eval()


def mel_matrix() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX,
                               htk=True, norm=1.0).astype(np.float32)  # (96, 1025)


def build_trunk():
    """torch module: waveform (B, BLOCK_SAMPLES) → features (B, 512)."""
    import torch
    from torch import nn

    class AudioTrunk(nn.Module):
        def __init__(self, net, mel: np.ndarray):
            super().__init__()
            self.net = net
            n = np.arange(N_FFT)
            window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # periodic Hann, as scipy/librosa
            self.register_buffer("window", torch.from_numpy(window.astype(np.float32)))
            self.register_buffer("mel", torch.from_numpy(mel.T.copy()))  # (1025, 96)

        def forward(self, waveform):
            # ONNX STFT op (opset 17): 100 frames of the block, no centring (the runtime pads).
            spec = torch.stft(waveform, n_fft=N_FFT, hop_length=HOP, window=self.window, center=False,
                              return_complex=False)  # (B, 1025, 100, 2)
            power = (spec * spec).sum(-1).transpose(1, 2)  # (B, 100, 1025)
            mel = torch.matmul(power, self.mel)  # (B, 100, 96)
            logmel = torch.log10(mel * LOG_SCALE + 1.0) * (1.0 / NORM_MAX)
            return self.net(logmel)

    return AudioTrunk(load_embedding_net(), mel_matrix()).eval()


def export(out: Path, int8: bool = False) -> dict:
    """Write audio_trunk.onnx (and, with int8, audio_trunk.int8.onnx) into `out`; return settings."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    trunk = build_trunk()
    dummy = torch.randn(2, BLOCK_SAMPLES) * 0.1
    path = out / TRUNK_FILE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(trunk, (dummy,), str(path), input_names=["waveform"], output_names=["features"],
                          dynamic_axes={"waveform": {0: "batch"}, "features": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    import onnx

    onnx.checker.check_model(onnx.load(str(path)))
    if int8:
        quantize_int8(path, out / TRUNK_INT8_FILE)
    return runtime_settings()


def quantize_int8(src: Path, dst: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    return dst


# --- the reference pipeline (aisfx's own preprocessing + network) ------------------------------

def reference_blocks(path: str | os.PathLike) -> np.ndarray:
    """(n_blocks, 100, 96) log-mel blocks exactly as aisfx computes them (librosa path, transposed)."""
    from aisfx.inference import EMB_BLOCK_LENGTH, MEL_BINS, SPEC_BLOCK_LENGTH, SPEC_HOP_LENGTH
    from aisfx.preprocessing import blocking, compute_hopSize, spectrogram_normalize
    from aisfx.spectrogram.spectrogram_librosa import compute_spectrogram

    spec = compute_spectrogram(path, sr=SAMPLE_RATE, block_size=SPEC_BLOCK_LENGTH, hop_size=SPEC_HOP_LENGTH,
                               n_mels=MEL_BINS, f_min=F_MIN, f_max=F_MAX).T  # (frames, 96)
    spec = spectrogram_normalize(spec, spec_norm="original")
    hop = compute_hopSize(EMB_BLOCK_LENGTH, 0.5, np.zeros(EMB_BLOCK_LENGTH + 1))
    return blocking(spec, block_size=EMB_BLOCK_LENGTH, hop_size=hop, drop_partial_block=True)


def reference_features(path, net=None) -> np.ndarray:
    """(n_blocks, 512) aisfx block embeddings in torch eager."""
    import torch

    net = net or load_embedding_net()
    with torch.no_grad():
        return net(torch.from_numpy(reference_blocks(path).astype(np.float32))).numpy()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def parity(trunk_paths: dict[str, Path], clips: list) -> list[dict]:
    """Per clip: cosine between aisfx in torch (its librosa preprocessing, mean over blocks) and
    each ONNX trunk run through `AudioTower` (numpy/soundfile/soxr front end, aisfx's blocking:
    half-block hop, tail dropped), plus the worst block."""
    from core.model.audio import AudioTower

    net = load_embedding_net()
    towers = {name: AudioTower(path, None, SAMPLE_RATE, BLOCK_SAMPLES, AISFX_HOP_SAMPLES, keep_tail=False)
              for name, path in trunk_paths.items()}
    rows = []
    for clip in clips:
        ref = reference_features(clip, net)
        row = {"clip": str(clip), "blocks": len(ref)}
        for name, tower in towers.items():
            got = tower.trunk_features(tower.load(clip))
            row[name] = cosine(ref.mean(0), got.mean(0))
            if len(got) == len(ref):
                row[f"{name}_worst_block"] = min(cosine(r, g) for r, g in zip(ref, got))
        rows.append(row)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--int8", action="store_true", help="also write (and check) a dynamic-int8 copy")
    parser.add_argument("--check", nargs="*", default=[], help="clips to compare against aisfx in torch")
    args = parser.parse_args(argv)
    settings = export(args.out, args.int8)
    print(json.dumps(settings, indent=2))
    if args.check:
        trunks = {"fp32": args.out / TRUNK_FILE}
        if args.int8:
            trunks["int8"] = args.out / TRUNK_INT8_FILE
        for row in parity(trunks, args.check):
            print("  ".join(f"{k}={v:.5f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
