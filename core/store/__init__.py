from core.store.driver import DriverUnavailable, get_driver
from core.store.errors import database_errors, explain_database_error
from core.store.schema import SCHEMA_VERSION, SchemaTooNew
from core.store.pathcodec import is_inside, printable
from core.store.store import KINDS, FolderProblem, LibraryStore, MediaItem, Neighbour, ReadOnlyLibrary

__all__ = [
    "DriverUnavailable",
    "get_driver",
    "database_errors",
    "explain_database_error",
    "SCHEMA_VERSION",
    "SchemaTooNew",
    "KINDS",
    "FolderProblem",
    "ReadOnlyLibrary",
    "is_inside",
    "printable",
    "LibraryStore",
    "MediaItem",
    "Neighbour",
]
