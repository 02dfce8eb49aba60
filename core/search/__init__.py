from core.search.engine import QueryError, SearchEngine, SearchHit

__all__ = ["QueryError", "SearchEngine", "SearchHit"]
