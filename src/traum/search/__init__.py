"""Finding samples: query understanding, the vector index, lexical matching and ranking."""

from traum.search.engine import Hit, SearchEngine, SearchResult
from traum.search.query import Query, parse_query
from traum.search.vector_index import VectorIndex

__all__ = ["Hit", "Query", "SearchEngine", "SearchResult", "VectorIndex", "parse_query"]
