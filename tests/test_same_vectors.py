"""The redesign keeps every vector: the demo library, indexed through the real library, gives the
vectors the landed code gave when it indexed the same folder (tests/data/demo_reference_vectors.npz,
made at commit 3d53f09; rebuilt by an index run when the UCS pivot changed the sound vectors
(issue 42; texts, pictures and photos kept cosine ≥ 0.9998 to the old reference, the memos 0.9997,
the eight sounds 0.71–0.96); vectors depend slightly on how items batch, so the reference comes
from an index run, not from embedding each kind in one batch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.library import Library
from tests.conftest import REPO

REFERENCE = REPO / "tests" / "data" / "demo_reference_vectors.npz"


def test_the_demo_library_embeds_to_the_reference_vectors(tmp_path, demo_copy, embedder):
    reference = np.load(REFERENCE)
    assert str(reference["model_id"]) in (embedder.model_id, *embedder.same_vectors_as)
    expected = dict(zip(reference["names"], reference["vectors"]))
    with Library(tmp_path / "lib.db", embedder=embedder) as library:
        library.index([demo_copy])
        stored = library.store.vectors_by_path("semantic")
    got = {str(Path(path).relative_to(demo_copy)): vector for path, vector in stored.items()}
    assert sorted(got) == sorted(expected), "the demo library's files changed: rebuild the reference"
    cosines = {name: float(np.dot(got[name], expected[name])) for name in expected}
    worst = min(cosines, key=cosines.get)
    assert cosines[worst] >= 0.9999, f"{worst}: cosine {cosines[worst]:.6f} to its reference vector"
