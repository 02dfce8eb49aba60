from core.index.indexer import EmbedReport, Indexer, ScanReport

__all__ = ["EmbedReport", "Indexer", "ScanReport"]
