"""Projection heads (torch) that map frozen trunk features into the text tower's space.

ImageBind-style: one head per modality, all ending in the same 384-d space where the text
tower's (frozen MiniLM) sentence embeddings live. Each head's forward takes exactly the named
inputs its ONNX export will have, so export is `torch.onnx.export(head, inputs)` and nothing else.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

DIM = 384


def conse_mix(logits: torch.Tensor, class_table: torch.Tensor, top_k: int, temperature: float) -> torch.Tensor:
    """ConSE: the classifier's top-k probabilities weight the class-name embeddings (unit rows)."""
    probs, idx = torch.softmax(logits / temperature, dim=-1).topk(top_k, dim=-1)
    return F.normalize((class_table[idx] * probs.unsqueeze(-1)).sum(dim=1), dim=-1)


class ImageHead(nn.Module):
    """embedding = ConSE(logits) − centring·photo_mean + gate(features) · residual(features).

    The ConSE part is fixed (it is what keeps photo search working); `photo_mean` removes the
    direction every photo shares, which otherwise makes a few images hubs for every caption.
    The residual MLP is learned on drawings, photos and sounds; its last layer starts at zero so
    training starts exactly at the (centred) ConSE embedding. The gate is a linear "is this a
    drawing?" classifier (drawings 1, photos 0): on photos the residual learned from drawings is
    switched off, so photo search keeps what ConSE does well.
    """

    def __init__(self, class_table: torch.Tensor, photo_mean: torch.Tensor, top_k: int = 10,
                 temperature: float = 1.0, centring: float = 0.0, features: int = 1280,
                 hidden: int = 1024, dropout: float = 0.1):
        super().__init__()
        self.register_buffer("class_table", class_table.float())
        self.register_buffer("photo_mean", photo_mean.float())
        self.top_k, self.temperature, self.centring = top_k, temperature, centring
        self.residual = nn.Sequential(
            nn.LayerNorm(features), nn.Dropout(dropout), nn.Linear(features, hidden), nn.GELU(),
            nn.Linear(hidden, DIM),
        )
        nn.init.zeros_(self.residual[-1].weight)
        nn.init.zeros_(self.residual[-1].bias)
        self.gate = nn.Sequential(nn.LayerNorm(features), nn.Linear(features, 1))

    def gate_logit(self, features: torch.Tensor) -> torch.Tensor:
        return self.gate(features).squeeze(-1)

    def base(self, logits: torch.Tensor) -> torch.Tensor:
        return conse_mix(logits, self.class_table, self.top_k, self.temperature) - self.centring * self.photo_mean

    def forward(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.gate_logit(features)).unsqueeze(-1)
        return self.base(logits) + gate * self.residual(features)


class AudioHead(nn.Module):
    """Pooled aisfx block features (512) → the shared space: unit(MLP(features)) − audio_mean,
    then, when `anchors` are set, pulled towards the texts it is nearest to.

    `audio_mean` (a buffer, zero unless training sets it) is the scaled mean of the head's unit
    embeddings of the training sounds. Every sound shares that direction, so it makes a few
    pictures and texts hubs for every sound query; removing it lifted sound→image R@10 on the
    validation concepts. It lives in the forward so the ONNX export carries it.

    `anchors` (unit text embeddings of the training texts, fp16; empty unless training attaches
    them after early stopping) turn the head into a residual over a ConSE-style text mixture:
    e ← unit(e) + anchor_weight · unit(Σ top-k softmax(e·anchors / τ) · anchors). With only ~550
    training sounds the MLP lands near the right words but off the text manifold; the mixture
    puts it back on it (sound→text R@5/R@10 on the validation concepts up, see train.py).
    """

    def __init__(self, features: int = 512, hidden: int = 1024, dropout: float = 0.3,
                 anchor_k: int = 50, anchor_temperature: float = 0.1, anchor_weight: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(features), nn.Dropout(dropout), nn.Linear(features, hidden), nn.GELU(),
            nn.Dropout(dropout), nn.Linear(hidden, DIM),
        )
        self.register_buffer("audio_mean", torch.zeros(DIM))
        self.register_buffer("anchors", torch.zeros(0, DIM, dtype=torch.float16))
        self.anchor_k, self.anchor_temperature, self.anchor_weight = anchor_k, anchor_temperature, anchor_weight

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        embedding = F.normalize(self.net(features), dim=-1) - self.audio_mean
        count = int(self.anchors.shape[0])  # fixed per checkpoint: a constant in the export
        if self.anchor_weight and count:
            anchors = self.anchors.float()
            embedding = F.normalize(embedding, dim=-1)
            mixture = conse_mix(embedding @ anchors.T, anchors, min(self.anchor_k, count), self.anchor_temperature)
            embedding = embedding + self.anchor_weight * mixture
        return embedding

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints from before the buffers existed (e.g. run v6) load as uncentred, unanchored heads.
        state_dict.setdefault(prefix + "audio_mean", torch.zeros(DIM))
        state_dict.setdefault(prefix + "anchors", torch.zeros(0, DIM, dtype=torch.float16))
        self.anchors = torch.zeros_like(state_dict[prefix + "anchors"], dtype=torch.float16)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class SpeechHead(nn.Module):
    """Pooled Whisper encoder states (mean ‖ max, 768) → the shared space, near the words said.
    Standardised with the training set's statistics (kept as buffers so the export carries them)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, features: int = 768, hidden: int = 1024,
                 dropout: float = 0.2):
        super().__init__()
        self.register_buffer("mean", mean.float())
        self.register_buffer("std", std.float())
        self.net = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(features, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, DIM),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net((features - self.mean) / self.std)


class HeadAverage(nn.Module):
    """Several heads of one kind (e.g. speech heads trained with different seeds) as one: the mean
    of their unit outputs. Exported as a single graph."""

    def __init__(self, heads: list[nn.Module]):
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.stack([F.normalize(head(features), dim=-1) for head in self.heads]).mean(0)


class TextHead(nn.Module):
    """Optional light residual over the frozen sentence embedding (x + Wx, W starts at zero)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(DIM, DIM)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return pooled + self.linear(pooled)


class LogitScale(nn.Module):
    """Learnable InfoNCE temperature, stored as log(1/τ) and capped at 100 as in CLIP."""

    def __init__(self, initial_temperature: float = 0.07):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / initial_temperature)))

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()
