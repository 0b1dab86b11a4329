"""Finding samples: query understanding, the vector index, lexical matching and ranking."""

from traum.search.engine import Hit, SearchResult, search_text
from traum.search.vector_index import VectorIndex

__all__ = ["Hit", "SearchResult", "VectorIndex", "search_text"]
