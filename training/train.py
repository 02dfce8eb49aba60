"""Train the Trimodal-Bind heads on cached trunk features.

    python -m training.train --run-name NAME [--text-head] [--max-epochs N] ...
    torchrun --nproc_per_node 2 -m training.train --run-name NAME     # DDP (gloo on CPU)

Inputs come from training.features (run it first). Each step draws a batch mixing
image+text items (drawings, emoji, stamps), sound items (sound + text, with their own picture or
else a drawing of the same concept) and, for photos, unlabeled coco-mini dev photos that are only
pulled towards their ConSE embedding.
The loss is the symmetric InfoNCE summed over every pair of modalities present (masked per row),
with a learnable temperature, a memory queue of earlier embeddings as extra negatives of which only
the hardest are kept, and concept ids so items of one concept are never each other's negatives.
Early stopping watches the validation concepts and coco-mini dev (R@10 averaged over directions),
scoring an exponential moving average of the weights with the audio head's mean sound removed.
The saved audio head also carries the training texts as anchors (see heads.AudioHead), attached
after early stopping.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from core.evaluation.scorer import score_direction
from core.paths import PROJECT_ROOT
from training.class_table import class_table_for_training
from training.features import COCO_DEV, IMAGE_VIEWS, FeatureCache, read_jsonl
from training.heads import AudioHead, ImageHead, LogitScale, TextHead
from training.losses import MemoryQueue, multimodal_info_nce
from training.workdir import prepared_dir, runs_dir

IMAGE_FEATURES = 1280  # then 1000 logits, in one cached row
AUDIO_FEATURES = 512  # aisfx, mean over blocks
# scikit-image / scikit-learn sample photos (the demo library's photos): more unlabeled photos.
SAMPLE_PHOTOS = PROJECT_ROOT / "resources" / "demo" / "photos"


@dataclass
class Config:
    run_name: str = "default"
    seed: int = 0
    batch_images: int = 192
    batch_sounds: int = 64
    batch_photos: int = 32
    steps_per_epoch: int = 60
    max_epochs: int = 40
    patience: int = 6
    lr: float = 1e-3
    weight_decay: float = 0.05
    queue_size: int = 4096
    hard_negatives: int = 512
    photo_distill: float = 2.0
    domain_gate: float = 1.0  # weight of the drawing-vs-photo loss that trains the image head's gate
    dev_photos: int = 80  # how many coco-mini dev photos training may use (the rest: a photo check)
    image_dropout: float = 0.1
    audio_dropout: float = 0.3
    # ConSE settings chosen on coco-mini dev (see class_table.py and the README's training notes)
    top_k: int = 20
    conse_temperature: float = 1.5
    centring: float = 0.7
    text_head: bool = False
    hidden: int = 1024
    # Added after run v6 (whose recipe is --audio-centring 0 --sound-images 0 --ema 0). The defaults
    # won on the validation concepts over two seeds (sound→image and text→image R@10 up, coco-dev even).
    # Scale of the training sounds' mean embedding the audio head subtracts (see AudioHead),
    # re-measured before every validation so early stopping judges the centred head; with
    # `audio_centring_train` the loss sees the centred embeddings too (no better on validation),
    # else the mean is zeroed while training.
    audio_centring: float = 1.0
    audio_centring_train: bool = False
    # Probability that a sound without its own picture is paired with a random drawing of the same
    # concept: only 64 training sounds come with a picture, so sound→image is learned mostly via text.
    sound_images: float = 1.0
    # Per-step decay of an exponential moving average of the weights; > 0 validates and saves the
    # averaged weights (the validation scores swing by ±0.05 from one epoch to the next without it).
    ema: float = 0.99
    # Tried and not better on validation, kept for experiments: a heavier audio–image pair weight
    # in the summed InfoNCE, and Gaussian noise on the pooled audio features (× each feature's std).
    audio_image_weight: float = 1.0
    audio_noise: float = 0.0
    # Issue 42, lever 2: probability that a drawn training sound is replaced by one of its cached
    # real-recording views (training.audio_augment: noise, ambience, a second event, silence, EQ);
    # drawn from a generator of its own, so the batches are those of the run without it.
    audio_augmented: float = 0.0
    # Text anchors for the audio head (see AudioHead): attached after early stopping, so they change
    # neither the loss nor which epoch is kept. Chosen post hoc on the validation concepts over
    # runs of three seeds (mean R@5/R@10 of sound↔text and sound↔image 0.496 → 0.520); 0 turns them off.
    audio_anchor_weight: float = 1.0
    audio_anchor_k: int = 50
    audio_anchor_temperature: float = 0.1
    anchor_words: int = 4  # anchors are training texts of at most this many words (names, not sentences)
    # Also pair each item with its concept's name ("pear" for "A pear"), as a query of one word.
    concept_text: bool = False
    # One thread per process: these heads are small, and OpenMP threads competing for the cores
    # with anything else made steps 6x slower (3.3 s vs 0.5 s measured on the 2-core build machine).
    threads: int = 1


# --- data ------------------------------------------------------------------------------------

class FeatureTable:
    """Cached features of one kind as a matrix, with a key → row lookup."""

    def __init__(self, name: str):
        cache = FeatureCache(name)
        self.keys = list(cache.rows)
        self.row = {k: i for i, k in enumerate(self.keys)}
        self.matrix = (torch.from_numpy(np.stack([cache.rows[k] for k in self.keys]).astype(np.float32))
                       if self.keys else torch.zeros(0))

    def rows(self, keys: list[str]) -> torch.Tensor:
        return self.matrix[[self.row[k] for k in keys]]


@dataclass
class Pool:
    """Items of one kind: their feature rows (-1 where absent), text rows and concept ids."""
    image: np.ndarray
    audio: np.ndarray
    texts: list[np.ndarray]
    concept: np.ndarray

    def __len__(self) -> int:
        return len(self.concept)


def build_pools(items: list[dict], images: FeatureTable, audio: FeatureTable, texts: FeatureTable,
                concepts: dict[str, int], concept_text: bool = False) -> dict[str, Pool]:
    grouped: dict[str, list] = {"image": [], "sound": []}
    for item in items:
        if item.get("audio_kind") == "speech":
            continue  # speech content comes from transcripts, not from the acoustic head
        image = images.row.get(item["image"], -1) if item.get("image") else -1
        sound = audio.row.get(item["audio"], -1) if item.get("audio") else -1
        names = list(item.get("text") or [])
        if concept_text and item.get("concept") and item["concept"] not in names:
            names.append(item["concept"])
        text = [texts.row[t] for t in names if t in texts.row]
        if sum([image >= 0, sound >= 0, bool(text)]) < 2:
            continue
        concept = concepts.setdefault(item.get("concept") or item["id"], len(concepts))
        grouped["sound" if sound >= 0 else "image"].append((image, sound, np.array(text or [-1]), concept))
    return {
        name: Pool(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                   [r[2] for r in rows], np.array([r[3] for r in rows]))
        for name, rows in grouped.items() if rows
    }


# --- model -----------------------------------------------------------------------------------

class TrimodalHeads(nn.Module):
    def __init__(self, config: Config, class_table: torch.Tensor, photo_mean: torch.Tensor):
        super().__init__()
        self.image = ImageHead(class_table, photo_mean, config.top_k, config.conse_temperature,
                               config.centring, hidden=config.hidden, dropout=config.image_dropout)
        self.audio = AudioHead(features=AUDIO_FEATURES, hidden=config.hidden, dropout=config.audio_dropout,
                               anchor_k=config.audio_anchor_k, anchor_temperature=config.audio_anchor_temperature,
                               anchor_weight=config.audio_anchor_weight)
        self.text = TextHead() if config.text_head else None
        self.logit_scale = LogitScale()

    def embed_image(self, rows: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image(rows[:, :IMAGE_FEATURES], rows[:, IMAGE_FEATURES:]), dim=-1)

    def embed_audio(self, rows: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio(rows), dim=-1)

    def embed_text(self, rows: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(rows) if self.text is not None else rows, dim=-1)

    def forward(self, image_rows, audio_rows, text_rows, photo_rows):
        photo = self.embed_image(photo_rows)
        photo_target = F.normalize(self.image.base(photo_rows[:, IMAGE_FEATURES:]), dim=-1)
        domain = self.image.gate_logit(torch.cat([image_rows, photo_rows])[:, :IMAGE_FEATURES])
        return (self.embed_image(image_rows), self.embed_audio(audio_rows), self.embed_text(text_rows),
                photo, photo_target, domain, self.logit_scale())


# --- validation ------------------------------------------------------------------------------

def _manifest_inputs(path: Path, images: FeatureTable, audio: FeatureTable, texts: FeatureTable):
    """{modality: (feature rows, labels)} for a DATA.md manifest whose features are cached."""
    out: dict[str, tuple[list[int], list[str]]] = {"image": ([], []), "audio": ([], []), "text": ([], [])}
    for item in read_jsonl(path):
        label = f"group:{item['group']}" if item.get("group") else f"id:{item['id']}"
        if item.get("image"):
            key = str((path.parent / item["image"]).resolve())
            if key in images.row:
                out["image"][0].append(images.row[key]); out["image"][1].append(label)
        if item.get("audio"):
            key = str((path.parent / item["audio"]).resolve())
            if key in audio.row:
                out["audio"][0].append(audio.row[key]); out["audio"][1].append(label)
        text = item.get("text") or []
        for t in [text] if isinstance(text, str) else text:
            if t in texts.row:
                out["text"][0].append(texts.row[t]); out["text"][1].append(label)
    return {m: v for m, v in out.items() if len(v[0]) >= 2}


def embed_rows(model: TrimodalHeads, modality: str, matrix: torch.Tensor) -> torch.Tensor:
    """Unit embeddings of cached feature rows, images at the runtime's centre-crop view."""
    if modality == "image":
        return model.embed_image(matrix[:, 0])
    if modality == "audio":
        return model.embed_audio(matrix)
    return model.embed_text(matrix)


class Validator:
    def __init__(self, manifests: dict[str, Path], images, audio, texts):
        self.tables = {"image": images, "audio": audio, "text": texts}
        self.sets = {name: _manifest_inputs(path, images, audio, texts) for name, path in manifests.items()
                     if path.exists()}

    @torch.no_grad()
    def __call__(self, model: TrimodalHeads, offsets: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
        """R@10 per set and direction; `offsets` (per modality) are subtracted from the unit
        vectors before they are renormalised, as the runtime does (training.modality_gap)."""
        model.eval()
        scores = {}
        for name, inputs in self.sets.items():
            vectors = {}
            for modality, (rows, _) in inputs.items():
                vectors[modality] = embed_rows(model, modality, self.tables[modality].matrix[rows])
                if offsets is not None:
                    vectors[modality] = F.normalize(vectors[modality] - offsets[modality], dim=-1)
            for q in inputs:
                for t in inputs:
                    if q != t:
                        s = score_direction((vectors[q] @ vectors[t].T).numpy(), inputs[q][1], inputs[t][1])
                        scores[f"{name}:{q}->{t}"] = s.as_dict()["R@10"]
        model.train()
        return scores


# --- training --------------------------------------------------------------------------------

class HeadTracker:
    """Best validation epoch per head. The image head is judged on the directions without audio,
    the audio head on those with audio; the rest of the state (temperature, text head) goes with
    the best overall epoch. Training stops when no part has improved for `patience` epochs."""

    PARTS = {"image": "image.", "audio": "audio."}

    def __init__(self, patience: int):
        self.patience = patience
        self.best: dict[str, float] = {}
        self.best_epoch: dict[str, int] = {}
        self.states: dict[str, dict] = {}

    def update(self, epoch: int, model: nn.Module, scores: dict[str, float], overall: float) -> bool:
        part_scores = {"all": overall}
        audio = [v for k, v in scores.items() if "audio" in k]
        image = [v for k, v in scores.items() if "audio" not in k and "image" in k]
        if image:
            part_scores["image"] = float(np.mean(image))
        if audio:
            part_scores["audio"] = float(np.mean(audio))
        for part, score in part_scores.items():
            if score > self.best.get(part, -float("inf")):
                self.best[part], self.best_epoch[part] = score, epoch
                self.states[part] = {k: v.clone() for k, v in model.state_dict().items()}
        return all(epoch - e >= self.patience for e in self.best_epoch.values())

    def state(self) -> dict:
        merged = dict(self.states["all"])
        for part, prefix in self.PARTS.items():
            if part in self.states:
                merged.update({k: v for k, v in self.states[part].items() if k.startswith(prefix)})
        return merged


def _gather(tensor: torch.Tensor) -> torch.Tensor:
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    parts = [torch.zeros_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def anchor_texts(items: list[dict], texts: FeatureTable, max_words: int) -> list[str]:
    """The training texts of pictures and sounds (not speech) of at most `max_words` words, sorted."""
    found = set()
    for item in items:
        if item.get("audio_kind") == "speech":
            continue
        text = item.get("text") or []
        found.update(t for t in ([text] if isinstance(text, str) else text)
                     if t in texts.row and len(t.split()) <= max_words)
    return sorted(found)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def photo_mean(class_table: torch.Tensor, photo_rows: torch.Tensor, config: Config) -> torch.Tensor:
    from training.heads import conse_mix

    return conse_mix(photo_rows[:, 0, IMAGE_FEATURES:], class_table, config.top_k, config.conse_temperature).mean(0)


@torch.no_grad()
def set_audio_mean(model: TrimodalHeads, sound_rows: torch.Tensor, scale: float) -> None:
    """audio_mean ← scale · mean unit embedding of the training sounds (eval mode, uncentred)."""
    head = model.audio
    was_training = head.training
    head.eval()
    head.audio_mean.zero_()
    if scale and len(sound_rows):
        head.audio_mean.copy_(scale * head(sound_rows).mean(0))
    head.train(was_training)


def train(config: Config, class_table: np.ndarray, log=print) -> dict:
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    owns_group = distributed and not dist.is_initialized()
    if owns_group:
        # Imported before the group exists: this module binds `group.WORLD` into its functions'
        # default arguments at import time, and DDP imports it, which would pin the group
        # (and its gloo threads) for the life of the interpreter.
        importlib.import_module("torch.distributed.nn.functional")
        dist.init_process_group("gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    seed_everything(config.seed)
    torch.set_num_threads(config.threads)

    images, audio, texts = FeatureTable("image"), FeatureTable("audio"), FeatureTable("text")
    concepts: dict[str, int] = {}
    items = read_jsonl(prepared_dir() / "train.jsonl")
    pools = build_pools(items, images, audio, texts, concepts, config.concept_text)
    dev = read_jsonl(COCO_DEV) if COCO_DEV.exists() else []  # absent outside this workplace
    photo_keys = [str((COCO_DEV.parent / it["image"]).resolve()) for it in dev][: config.dev_photos]
    photo_keys += [str(p) for p in sorted(SAMPLE_PHOTOS.glob("*.jpg"))]
    photos = images.rows([k for k in photo_keys if k in images.row]) if config.batch_photos else torch.zeros(0, 2, IMAGE_FEATURES + 1000)
    table = torch.from_numpy(class_table)
    mean = photo_mean(table, photos, config) if len(photos) else torch.zeros(table.shape[1])
    model = TrimodalHeads(config, table, mean)
    if rank == 0:
        log("pools: " + ", ".join(f"{k} {len(v)}" for k, v in pools.items()) + f", photos {len(photos)}, "
            f"concepts {len(concepts)}, world {world}")
    trained = nn.parallel.DistributedDataParallel(model) if distributed else model
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total_steps = config.steps_per_epoch * config.max_epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=total_steps, pct_start=0.05)
    queue = MemoryQueue(config.queue_size, class_table.shape[1])
    validator = Validator({"val": prepared_dir() / "eval" / "val_concepts.jsonl", "coco-dev": COCO_DEV},
                          images, audio, texts)
    rng = np.random.default_rng(config.seed + 1000 * rank)  # each rank draws its own batches
    sound_audio = pools["sound"].audio if "sound" in pools else np.zeros(0, dtype=int)
    sound_rows = audio.matrix[sound_audio[sound_audio >= 0]] if len(audio.keys) else torch.zeros(0, AUDIO_FEATURES)
    audio_std = audio.matrix.std(0) if len(audio.keys) > 1 else torch.ones(AUDIO_FEATURES)
    pair_weights = {("audio", "image"): config.audio_image_weight}
    drawings = _concept_drawings(pools) if config.sound_images else None
    views = None
    if config.audio_augmented:
        from training.audio_augment import augmented_rows

        view_matrix, view_rows = augmented_rows(audio.row)
        views = AudioViews(view_matrix, view_rows, np.random.default_rng(config.seed + 7919 + 1000 * rank),
                           config.audio_augmented)
        if rank == 0:
            log(f"augmented views: {len(view_matrix)} for {len(view_rows)} training sounds, p {config.audio_augmented}")
    averaged = {k: p.detach().clone() for k, p in model.named_parameters()} if config.ema else None

    run_dir = runs_dir(config.run_name)
    # Heads are early-stopped one by one: the audio head (≈550 sounds) overfits long before the
    # image head (≈4,800 pictures) stops improving, so each keeps its own best epoch.
    tracker = HeadTracker(config.patience)
    history = []
    started = time.perf_counter()
    for epoch in range(config.max_epochs):
        losses = []
        for _ in range(config.steps_per_epoch):
            batch = _draw(pools, config, rng, images, audio, texts, photos, drawings, views)
            if config.audio_noise:
                batch["audio"] = batch["audio"] + config.audio_noise * audio_std * torch.randn_like(batch["audio"])
            image_emb, audio_emb, text_emb, photo, photo_target, domain, scale = trained(
                batch["image"], batch["audio"], batch["text"], batch["photo"])
            embeddings = {"image": image_emb, "audio": audio_emb, "text": text_emb}
            loss, parts = multimodal_info_nce(embeddings, batch["present"], scale, batch["concept"],
                                              queue, config.hard_negatives, pair_weights)
            if len(photo):
                loss = loss + config.photo_distill * (1 - (photo * photo_target).sum(-1)).mean()
                # Gate: drawings (rows with an image) → 1, photos → 0, the two classes weighted equally.
                drawing = batch["present"]["image"]
                n_photo = len(photo)
                loss = loss + config.domain_gate * 0.5 * (
                    F.binary_cross_entropy_with_logits(domain[:-n_photo][drawing], torch.ones(int(drawing.sum())))
                    + F.binary_cross_entropy_with_logits(domain[-n_photo:], torch.zeros(n_photo)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            if averaged is not None:
                with torch.no_grad():
                    for name, param in model.named_parameters():
                        averaged[name].lerp_(param, 1 - config.ema)
            labels = _gather(batch["concept"])
            for modality, emb in embeddings.items():
                rows = _gather(batch["present"][modality].to(torch.uint8)).bool()
                queue.push(modality, _gather(emb.detach())[rows], labels[rows])
            losses.append(float(loss.detach()))
        stop = torch.zeros(1)
        if averaged is not None:  # validate (and keep) the averaged weights, then train on from the live ones
            live = {k: p.detach().clone() for k, p in model.named_parameters()}
            _copy_parameters(model, averaged)
        # Every rank computes the same mean from the same weights, so the buffers stay in step.
        set_audio_mean(model, sound_rows, config.audio_centring)
        if rank == 0:
            scores = validator(model)
            # Without validation sets (tiny runs) the training loss decides.
            score = float(np.mean(list(scores.values()))) if scores else -float(np.mean(losses))
            history.append({"epoch": epoch, "loss": float(np.mean(losses)), "score": score,
                            "temperature": 1 / float(model.logit_scale().detach()), **scores})
            log(f"epoch {epoch:3d} loss {np.mean(losses):.3f} val R@10 {score:.3f} "
                f"τ {1 / float(model.logit_scale().detach()):.3f} ({time.perf_counter() - started:.0f} s)")
            stop[0] = float(tracker.update(epoch, model, scores, score))  # the state keeps audio_mean
        if averaged is not None:
            _copy_parameters(model, live)
            set_audio_mean(model, sound_rows, config.audio_centring)  # the mean of the live weights
        if not config.audio_centring_train:
            set_audio_mean(model, sound_rows, 0.0)
        if distributed:
            dist.broadcast(stop, 0)
        if stop[0]:
            break
    result = {"config": asdict(config), "best_epoch": tracker.best_epoch.get("all", -1),
              "best_epochs": tracker.best_epoch, "best_score": tracker.best.get("all", -1.0),
              "seconds": time.perf_counter() - started, "history": history}
    if rank == 0:
        state = tracker.state()
        if config.audio_anchor_weight:
            anchors = F.normalize(texts.rows(anchor_texts(items, texts, config.anchor_words)), dim=-1)
            state["audio.anchors"] = anchors.half()
            result["anchors"] = len(anchors)
        torch.save({"state": state, "config": asdict(config), "class_table": class_table},
                   run_dir / "best.pt")
        (run_dir / "result.json").write_text(json.dumps(result, indent=1))
        log(f"best epochs {tracker.best_epoch}; saved {run_dir / 'best.pt'}")
    if distributed:
        dist.barrier()
    if owns_group:
        # The group must be freed here, while Python is fully alive: a gloo worker thread that
        # drops its last finished work during interpreter shutdown aborts the process
        # (SIGABRT, "terminate called without an active exception"; pytorch#179291, #190489).
        # DDP's reducer holds the group too, so DDP goes first; then the destroy drops the last
        # reference and the group joins its worker threads.
        del trained
        dist.destroy_process_group()
    return result


@torch.no_grad()
def _copy_parameters(model: nn.Module, values: dict[str, torch.Tensor]) -> None:
    for name, param in model.named_parameters():
        param.copy_(values[name])


def _concept_drawings(pools) -> dict[int, np.ndarray]:
    """concept id → image rows of its drawings (the image pool), for `sound_images`."""
    pool = pools.get("image")
    if pool is None:
        return {}
    by_concept: dict[int, list[int]] = {}
    for image, concept in zip(pool.image, pool.concept):
        if image >= 0:
            by_concept.setdefault(int(concept), []).append(int(image))
    return {k: np.array(v) for k, v in by_concept.items()}


class AudioViews(NamedTuple):
    """Cached real-recording views of the training sounds (training.audio_augment), for `_draw`."""
    matrix: np.ndarray  # the views' pooled trunk features
    rows: dict  # clean audio row → the rows of its views in `matrix`
    rng: np.random.Generator  # its own, so the batches are those of a run without views
    probability: float  # that a drawn sound is replaced by one of its views


def _draw(pools, config: Config, rng, images: FeatureTable, audio: FeatureTable, texts: FeatureTable,
          photos: torch.Tensor, drawings: dict[int, np.ndarray] | None = None,
          views: AudioViews | None = None) -> dict:
    """One batch; `drawings` (concept → image rows) enables `sound_images`; `views` enables
    `audio_augmented`."""
    drawings = drawings or {}
    chosen = []
    for name, count in (("image", config.batch_images), ("sound", config.batch_sounds)):
        pool = pools.get(name)
        if pool is not None and count > 0:
            chosen += [(pool, i) for i in rng.choice(len(pool), size=min(count, len(pool)), replace=False)]
    n = len(chosen)
    image_rows = torch.zeros(n, IMAGE_FEATURES + 1000)
    audio_rows = torch.zeros(n, audio.matrix.shape[1] if len(audio.keys) else AUDIO_FEATURES)
    text_rows = torch.zeros(n, texts.matrix.shape[1])
    present = {m: torch.zeros(n, dtype=torch.bool) for m in ("image", "audio", "text")}
    concept = torch.zeros(n, dtype=torch.long)
    for row, (pool, i) in enumerate(chosen):
        image = pool.image[i]
        if image < 0 and pool.audio[i] >= 0 and int(pool.concept[i]) in drawings and rng.random() < config.sound_images:
            image = rng.choice(drawings[int(pool.concept[i])])
        if image >= 0:
            image_rows[row] = images.matrix[image, rng.integers(len(IMAGE_VIEWS))]
            present["image"][row] = True
        if pool.audio[i] >= 0:
            audio_rows[row] = audio.matrix[pool.audio[i]]
            if views is not None and int(pool.audio[i]) in views.rows and views.rng.random() < views.probability:
                choices = views.rows[int(pool.audio[i])]
                audio_rows[row] = views.matrix[choices[views.rng.integers(len(choices))]]
            present["audio"][row] = True
        text = pool.texts[i][rng.integers(len(pool.texts[i]))]
        if text >= 0:
            text_rows[row] = texts.matrix[text]
            present["text"][row] = True
        concept[row] = int(pool.concept[i])
    picked = rng.choice(len(photos), size=min(config.batch_photos, len(photos)), replace=False)
    photo = photos[picked, rng.integers(len(IMAGE_VIEWS))] if len(picked) else torch.zeros(0, IMAGE_FEATURES + 1000)
    return {"image": image_rows, "audio": audio_rows, "text": text_rows, "present": present,
            "concept": concept, "photo": photo}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, field in Config.__dataclass_fields__.items():
        if field.type in ("bool", bool):
            parser.add_argument(f"--{name.replace('_', '-')}", action="store_true")
        else:
            kind = {"int": int, "float": float, "str": str}[str(field.type)]
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=field.default)
    parser.add_argument("--class-table", type=Path, default=None,
                        help=".npy of the ConSE class-name embeddings (default: build and cache it)")
    args = vars(parser.parse_args(argv))
    table_path = args.pop("class_table")
    table = np.load(table_path) if table_path else class_table_for_training()
    train(Config(**args), table)


if __name__ == "__main__":
    main()
