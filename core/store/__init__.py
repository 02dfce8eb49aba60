from core.store.driver import DriverUnavailable, get_driver
from core.store.errors import database_errors, explain_database_error
from core.store.schema import SCHEMA_VERSION, SchemaTooNew
from core.store.pathcodec import is_inside, printable
from core.store.store import FolderProblem, LibraryStore, MediaItem, ReadOnlyLibrary
from core.store.vectors import ChannelBinding, Neighbour

__all__ = [
    "DriverUnavailable",
    "get_driver",
    "database_errors",
    "explain_database_error",
    "SCHEMA_VERSION",
    "SchemaTooNew",
    "ChannelBinding",
    "FolderProblem",
    "ReadOnlyLibrary",
    "is_inside",
    "printable",
    "LibraryStore",
    "MediaItem",
    "Neighbour",
]
