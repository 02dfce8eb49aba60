from core.index.indexer import Change, EmbedReport, Indexer, ScanReport
from core.index import melody_task  # noqa: F401  registers the "melody" task, after "embed"

__all__ = ["Change", "EmbedReport", "Indexer", "ScanReport"]
