"""Evaluation manifests (JSON Lines): items with any of image, audio, text, and an optional group."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MODALITIES = ("text", "image", "audio")


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Instance:
    item_index: int
    label: str  # the item's group if it has one, else its id: equal labels answer each other
    payload: str  # the text itself, or an absolute file path


@dataclass
class Manifest:
    path: Path
    ids: list[str]
    instances: dict[str, list[Instance]]  # modality -> instances

    def items_with(self, modality: str) -> int:
        return len({instance.item_index for instance in self.instances[modality]})


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    ids: list[str] = []
    seen: set[str] = set()
    instances: dict[str, list[Instance]] = {m: [] for m in MODALITIES}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        item_id = record.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise ManifestError(f"{path}:{number}: every item needs a string 'id'")
        if item_id in seen:
            raise ManifestError(f"{path}:{number}: duplicate id {item_id!r}")
        seen.add(item_id)
        index = len(ids)
        ids.append(item_id)
        group = record.get("group")
        label = f"group:{group}" if group not in (None, "") else f"id:{item_id}"
        texts = record.get("text")
        if isinstance(texts, str):
            texts = [texts]
        for text in texts or []:
            instances["text"].append(Instance(index, label, str(text)))
        for modality in ("image", "audio"):
            if record.get(modality):
                instances[modality].append(Instance(index, label, str((path.parent / record[modality]).resolve())))
    return Manifest(path=path, ids=ids, instances=instances)
