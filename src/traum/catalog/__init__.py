"""The SQLite catalog: a generic layer (``db``: connection, transactions, migrations) under the
sample-specific tables and queries (``store``)."""

from traum.catalog.filters import StemFilter
from traum.catalog.store import Catalog, FileState, StemRecord

__all__ = ["Catalog", "FileState", "StemFilter", "StemRecord"]
