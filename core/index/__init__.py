from core.index.indexer import Change, EmbedReport, Indexer, ScanReport

__all__ = ["Change", "EmbedReport", "Indexer", "ScanReport"]
