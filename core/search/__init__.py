from core.search.duplicates import DuplicateGroup, find_duplicates
from core.search.engine import SearchEngine, SearchHit
from core.search.query import Filters, Query, QueryError, day_start

__all__ = ["DuplicateGroup", "Filters", "Query", "QueryError", "SearchEngine", "SearchHit", "day_start",
           "find_duplicates"]
