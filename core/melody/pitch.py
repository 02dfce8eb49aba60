"""The pitch of a recording over time: probabilistic YIN (pYIN; Mauch & Dixon, ICASSP 2014) in numpy.

YIN's normalised difference function gives, per 10 ms frame, candidate periods at its troughs; a
spread of thresholds with a beta prior turns them into a probability for each pitch bin, and a
hidden Markov model (pitch bins, each voiced or unvoiced, pitch moving by a few bins per frame)
picks the most likely path with Viterbi. It runs at a low sample rate on coarse bins: a tune's
fundamental lies below 2 kHz, and a quarter-semitone grid still follows a voice or an instrument.

Written for the app rather than taken from librosa, whose pYIN needs numba, llvmlite and scipy
(about 250 MiB of the packaged app; docs/experiments/installer-size.md); measured against it on
the hum-to-search set."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import soxr

TRACK_RATE = 8000  # Hz
FRAMES_PER_SECOND = 100
_HOP = TRACK_RATE // FRAMES_PER_SECOND
_FRAME = 1024  # samples per analysis frame
_WINDOW = _FRAME // 2  # samples compared with their shifted copy
# C2 (a low hum) to about B6 (a high whistle). Bins step up from C2 exactly, so whole semitones
# fall on bins and an in-tune note reads as in tune.
_LOWEST_NOTE = 36  # C2, in MIDI semitones
_FMIN, _FMAX = 440.0 * 2 ** ((_LOWEST_NOTE - 69) / 12), 2000.0
_BINS_PER_SEMITONE = 4
_N_BINS = int(12 * _BINS_PER_SEMITONE * math.log2(_FMAX / _FMIN)) + 1
_SHORTEST_PERIOD = max(1, int(TRACK_RATE / _FMAX))
_LONGEST_PERIOD = min(int(math.ceil(TRACK_RATE / _FMIN)), _FRAME - _WINDOW - 1)

# pYIN's priors: 20 thresholds weighted by a beta(2, 18) distribution (mean 0.1); among the troughs
# under one threshold the earlier (shorter-period) ones are likelier (a Boltzmann prior of rate 2);
# when no trough is under a threshold, the deepest one gets 1 % of its weight.
_N_THRESHOLDS = 20
_BETA_A, _BETA_B = 2, 18
_TROUGH_ORDER_RATE = 2.0
_NO_TROUGH_SHARE = 0.01
# The path: from one frame to the next the pitch moves at most 2 semitones (a triangle over the
# bins within reach), and the frame changes between voiced and unvoiced with probability 0.01.
_BAND = 2 * _BINS_PER_SEMITONE  # bins either side
_SWITCH = 0.01


def pitch_track(samples: np.ndarray, rate: int) -> np.ndarray:
    """Pitch in (fractional) MIDI semitones, one value per 10 ms frame; NaN where unvoiced.
    `samples` is mono or (n, channels) float audio at `rate` Hz."""
    mono = np.asarray(samples, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if rate != TRACK_RATE:
        mono = soxr.resample(mono, rate, TRACK_RATE)
    if mono.size < _FRAME or not np.any(mono):
        return np.full(0, np.nan, dtype=np.float32)
    mono = (mono / np.max(np.abs(mono))).astype(np.float64)
    candidates = _candidates(_normalised_difference(_frames(mono)))
    states = _most_likely_states(_bin_probabilities(candidates))
    return _pitch_of(states, candidates)


def _frames(mono: np.ndarray) -> np.ndarray:
    """Overlapping frames (n_frames, _FRAME), frame t centred on sample t * _HOP."""
    padded = np.pad(mono, _FRAME // 2)
    return np.lib.stride_tricks.sliding_window_view(padded, _FRAME)[::_HOP]


def _normalised_difference(frames: np.ndarray) -> np.ndarray:
    """YIN's cumulative-mean-normalised difference d'(τ) for τ = 0 .. _LONGEST_PERIOD + 1, per frame.
    d(τ) = Σ (x_j − x_{j+τ})² over the first _WINDOW samples, from two energies and one
    cross-correlation (by FFT, long enough not to wrap)."""
    n_fft = 2 * _FRAME
    lags = _LONGEST_PERIOD + 2
    spectrum = np.fft.rfft(frames, n_fft)
    head = np.fft.rfft(frames[:, :_WINDOW], n_fft)
    cross = np.fft.irfft(spectrum * np.conj(head), n_fft)[:, :lags]
    energy = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    shifted_energy = energy[:, _WINDOW:_WINDOW + lags] - energy[:, :lags]  # Σ x_{j+τ}², j < _WINDOW
    difference = np.maximum(shifted_energy[:, :1] + shifted_energy - 2 * cross, 0.0)
    running_mean = np.cumsum(difference[:, 1:], axis=1) / np.arange(1, lags)
    normalised = np.ones_like(difference)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised[:, 1:] = np.where(running_mean > 1e-12, difference[:, 1:] / running_mean, 1.0)
    return normalised


def _beta_weights() -> np.ndarray:
    """The prior weight of each threshold band (0.05, 0.10, .. 1.0): differences of the beta(2, 18)
    CDF, which for whole parameters is a binomial tail."""
    n = _BETA_A + _BETA_B - 1

    def cdf(x: float) -> float:
        return sum(math.comb(n, j) * x**j * (1 - x) ** (n - j) for j in range(_BETA_A, n + 1))

    edges = np.linspace(0.0, 1.0, _N_THRESHOLDS + 1)
    return np.diff([cdf(x) for x in edges])


_THRESHOLD_WEIGHTS = _beta_weights()
_THRESHOLDS = np.linspace(0.0, 1.0, _N_THRESHOLDS + 1)[1:]


class Candidates(NamedTuple):
    """Each frame's candidate periods, one column per period in range (n_frames, n_periods)."""

    pitch: np.ndarray  # MIDI semitones, refined between samples
    bins: np.ndarray  # the pitch bin it falls in
    weight: np.ndarray  # its probability; zero where the period is no candidate


def _candidates(normalised: np.ndarray) -> Candidates:
    n_frames = normalised.shape[0]
    inner = normalised[:, _SHORTEST_PERIOD:_LONGEST_PERIOD + 1]
    left = normalised[:, _SHORTEST_PERIOD - 1:_LONGEST_PERIOD]
    right = normalised[:, _SHORTEST_PERIOD + 1:_LONGEST_PERIOD + 2]
    trough = (inner < left) & (inner <= right)
    # Refine each trough's period by a parabola through it and its neighbours.
    curvature = left - 2 * inner + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(curvature) > 1e-12, 0.5 * (left - right) / curvature, 0.0)
    period = _SHORTEST_PERIOD + np.arange(inner.shape[1]) + np.clip(shift, -1.0, 1.0)
    pitch = _LOWEST_NOTE + 12 * np.log2(TRACK_RATE / period / _FMIN)
    bins = np.clip(np.rint(_BINS_PER_SEMITONE * (pitch - _LOWEST_NOTE)), 0, _N_BINS - 1).astype(int)

    weight = np.zeros(inner.shape)
    rows = np.arange(n_frames)
    deepest = np.argmin(np.where(trough, inner, np.inf), axis=1)
    has_trough = trough.any(axis=1)
    for threshold, prior in zip(_THRESHOLDS, _THRESHOLD_WEIGHTS):
        under = trough & (inner < threshold)
        order = np.cumsum(under, axis=1) - 1  # 0 for a frame's first trough under the threshold
        count = under.sum(axis=1, keepdims=True)
        boltzmann = (1 - math.exp(-_TROUGH_ORDER_RATE)) * np.exp(-_TROUGH_ORDER_RATE * order)
        boltzmann /= 1 - np.exp(-_TROUGH_ORDER_RATE * np.maximum(count, 1))
        weight += prior * np.where(under, boltzmann, 0.0)
        lonely = (count[:, 0] == 0) & has_trough
        weight[rows[lonely], deepest[lonely]] += prior * _NO_TROUGH_SHARE
    return Candidates(pitch, bins, weight)


def _bin_probabilities(candidates: Candidates) -> np.ndarray:
    """(n_frames, _N_BINS) probability that the frame is voiced with its pitch in each bin."""
    bins, weight = candidates.bins, candidates.weight
    probabilities = np.zeros((len(bins), _N_BINS))
    np.add.at(probabilities, (np.repeat(np.arange(len(bins)), bins.shape[1]), bins.ravel()), weight.ravel())
    return probabilities


def _pitch_of(states: np.ndarray, candidates: Candidates) -> np.ndarray:
    """A voiced frame's pitch: the refined pitch of its likeliest candidate within a bin of the
    path's bin, else the bin's own. Off the bin grid, a note's median is not pulled to a neighbouring
    bin by vibrato or a slightly sharp voice."""
    pitch = np.full(states.shape, np.nan, dtype=np.float32)
    voiced = states < _N_BINS
    near = (candidates.weight > 0) & (np.abs(candidates.bins - states[:, None]) <= 1)
    best = np.argmax(np.where(near, candidates.weight, -1.0), axis=1)
    refined = voiced & near[np.arange(len(states)), best]
    pitch[voiced] = _LOWEST_NOTE + states[voiced] / _BINS_PER_SEMITONE
    pitch[refined] = candidates.pitch[np.flatnonzero(refined), best[refined]]
    return pitch


def _band_log_transitions() -> np.ndarray:
    """(_N_BINS, 2 * _BAND + 1) log-probability of reaching bin j from bin j − _BAND + k: a triangle
    over the reachable bins, each source's row normalised over the bins it can reach."""
    offsets = np.arange(-_BAND, _BAND + 1)
    triangle = 1.0 - np.abs(offsets) / (_BAND + 1)
    sources = np.arange(_N_BINS)[:, None] - offsets[None, :]  # source i for target j, offset k
    inside = (sources >= 0) & (sources < _N_BINS)
    # A source's outgoing mass: the triangle's part whose targets stay inside the bins.
    reach = np.array([triangle[(i + offsets >= 0) & (i + offsets < _N_BINS)].sum() for i in range(_N_BINS)])
    with np.errstate(divide="ignore"):
        return np.where(inside, np.log(triangle[None, :] / reach[np.clip(sources, 0, _N_BINS - 1)]), -np.inf)


_LOG_BAND = _band_log_transitions()


def _most_likely_states(probabilities: np.ndarray) -> np.ndarray:
    """Viterbi over 2 × _N_BINS states (voiced bins, then unvoiced bins); the unvoiced states keep a
    pitch so a note can resume where it paused. Returns each frame's state."""
    voiced = np.clip(probabilities.sum(axis=1, keepdims=True), 0.0, 1.0)
    unvoiced = np.repeat((1 - voiced) / _N_BINS, _N_BINS, axis=1)
    with np.errstate(divide="ignore"):
        log_observed = np.log(np.concatenate([probabilities, unvoiced], axis=1))
    stay, switch = math.log(1 - _SWITCH), math.log(_SWITCH)
    n_frames = len(probabilities)
    back = np.empty((n_frames, 2 * _N_BINS), dtype=np.int32)
    score = np.full(2 * _N_BINS, -math.log(2 * _N_BINS)) + log_observed[0]
    target = np.arange(_N_BINS)
    first_state = np.array([[0], [_N_BINS]])  # of the voiced and the unvoiced half
    for t in range(1, n_frames):
        padded = np.pad(score.reshape(2, _N_BINS), ((0, 0), (_BAND, _BAND)), constant_values=-np.inf)
        reach = np.lib.stride_tricks.sliding_window_view(padded, 2 * _BAND + 1, axis=1) + _LOG_BAND
        best_offset = np.argmax(reach, axis=2)
        best = np.take_along_axis(reach, best_offset[..., None], axis=2)[..., 0]
        source = target + best_offset - _BAND  # bin of the best predecessor, in the same half
        # Into a voiced bin from a voiced (stay) or an unvoiced (switch) predecessor, and vice versa.
        from_same, from_other = best + stay, best[::-1] + switch
        take_other = from_other > from_same
        score = np.where(take_other, from_other, from_same).ravel() + log_observed[t]
        back[t] = np.where(take_other, source[::-1] + first_state[::-1], source + first_state).ravel()
    states = np.empty(n_frames, dtype=np.int32)
    states[-1] = int(np.argmax(score))
    for t in range(n_frames - 1, 0, -1):
        states[t - 1] = back[t, states[t]]
    return states
