from core.search.engine import SearchEngine, SearchHit
from core.search.query import Filters, Query, QueryError, day_start

__all__ = ["Filters", "Query", "QueryError", "SearchEngine", "SearchHit", "day_start"]
