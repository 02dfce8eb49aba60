"""Contrastive losses: symmetric InfoNCE over every pair of modalities present in a batch.

Rows are L2-normalised embeddings. A batch holds items with any subset of modalities; `present`
masks say which rows carry which modality, and a pair of modalities only contributes the rows that
have both. Items of the same concept are never used as each other's negatives (they are not wrong
answers), both inside the batch and in the memory queue.
"""

from __future__ import annotations

from itertools import combinations

import torch
import torch.nn.functional as F


def info_nce(queries: torch.Tensor, keys: torch.Tensor, logit_scale: torch.Tensor,
             labels: torch.Tensor | None = None, extra_keys: torch.Tensor | None = None,
             extra_labels: torch.Tensor | None = None, hard_k: int = 0) -> torch.Tensor:
    """One direction: row i of `queries` should pick row i of `keys`.

    `labels` (concept ids) mask other rows of the same concept out of the negatives.
    `extra_keys` are more negatives (a memory queue, no gradient); with `hard_k` > 0 only the
    `hard_k` most similar of them per query are kept — hard-negative mining over the queue.
    """
    logits = logit_scale * queries @ keys.T
    n = queries.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=queries.device)
    if labels is not None:
        same = labels[:, None] == labels[None, :]
        logits = logits.masked_fill(same & ~eye, float("-inf"))
    if extra_keys is not None and extra_keys.shape[0] > 0:
        extra = logit_scale * queries @ extra_keys.T
        if labels is not None and extra_labels is not None:
            extra = extra.masked_fill(labels[:, None] == extra_labels[None, :], float("-inf"))
        if 0 < hard_k < extra.shape[1]:
            extra = extra.topk(hard_k, dim=1).values
        logits = torch.cat([logits, extra], dim=1)
    return F.cross_entropy(logits, torch.arange(n, device=queries.device))


def symmetric_info_nce(a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor,
                       labels: torch.Tensor | None = None) -> torch.Tensor:
    """(a→b + b→a) / 2, the CLIP loss."""
    return 0.5 * (info_nce(a, b, logit_scale, labels) + info_nce(b, a, logit_scale, labels))


class MemoryQueue:
    """A FIFO of recent (detached) embeddings per modality with their concept ids: cross-batch
    negatives. Under DDP every rank pushes the embeddings gathered from all ranks, so the queues
    stay identical across processes."""

    def __init__(self, size: int, dim: int):
        self.size = size
        self.vectors: dict[str, torch.Tensor] = {}
        self.labels: dict[str, torch.Tensor] = {}
        self.dim = dim

    def push(self, modality: str, vectors: torch.Tensor, labels: torch.Tensor) -> None:
        if self.size <= 0 or vectors.shape[0] == 0:
            return
        old_v = self.vectors.get(modality, vectors.new_zeros((0, self.dim)))
        old_l = self.labels.get(modality, labels.new_zeros((0,)))
        self.vectors[modality] = torch.cat([vectors.detach(), old_v])[: self.size]
        self.labels[modality] = torch.cat([labels, old_l])[: self.size]

    def get(self, modality: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return self.vectors.get(modality), self.labels.get(modality)


def multimodal_info_nce(embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor],
                        logit_scale: torch.Tensor, labels: torch.Tensor,
                        queue: MemoryQueue | None = None, hard_k: int = 0,
                        pair_weights: dict[tuple[str, str], float] | None = None,
                        ) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum of symmetric InfoNCE over every pair of modalities with ≥ 2 rows having both.

    embeddings[m]: (batch, dim) unit rows (rows of items without m are ignored);
    present[m]: (batch,) bool. Returns the loss and the per-pair values for logging.
    """
    total = embeddings[next(iter(embeddings))].new_zeros(())
    parts: dict[str, float] = {}
    for m1, m2 in combinations(sorted(embeddings), 2):
        rows = present[m1] & present[m2]
        if int(rows.sum()) < 2:
            continue
        a, b, lab = embeddings[m1][rows], embeddings[m2][rows], labels[rows]
        qa_v, qa_l = queue.get(m1) if queue else (None, None)
        qb_v, qb_l = queue.get(m2) if queue else (None, None)
        loss = 0.5 * (info_nce(a, b, logit_scale, lab, qb_v, qb_l, hard_k)
                      + info_nce(b, a, logit_scale, lab, qa_v, qa_l, hard_k))
        weight = (pair_weights or {}).get((m1, m2), 1.0)
        total = total + weight * loss
        parts[f"{m1}-{m2}"] = float(loss.detach())
    return total, parts
