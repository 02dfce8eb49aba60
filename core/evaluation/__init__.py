from core.evaluation.manifest import Manifest, ManifestError, load_manifest
from core.evaluation.runner import EvalResult, evaluate
from core.evaluation.scorer import DirectionScore, query_ranks, score_direction

__all__ = [
    "Manifest", "ManifestError", "load_manifest", "EvalResult", "evaluate",
    "DirectionScore", "query_ranks", "score_direction",
]
