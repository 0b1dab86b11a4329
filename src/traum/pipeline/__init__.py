"""The indexing job: discover → hash → decode → (analyse) → embed → write, resumable and parallel."""

from traum.pipeline.indexer import IndexOptions, IndexReport, Progress, run_index

__all__ = ["IndexOptions", "IndexReport", "Progress", "run_index"]
