from core.store.driver import DriverUnavailable, get_driver
from core.store.errors import database_errors, explain_database_error
from core.store.schema import SCHEMA_VERSION, SchemaTooNew
from core.store.store import KINDS, LibraryStore, MediaItem, Neighbour

__all__ = [
    "DriverUnavailable",
    "get_driver",
    "database_errors",
    "explain_database_error",
    "SCHEMA_VERSION",
    "SchemaTooNew",
    "KINDS",
    "LibraryStore",
    "MediaItem",
    "Neighbour",
]
