from core.index.indexer import Change, EmbedReport, Indexer, ScanReport
from core.index import melody_task, parts_task  # noqa: F401  register "melody" and "parts", after "embed"

__all__ = ["Change", "EmbedReport", "Indexer", "ScanReport"]
