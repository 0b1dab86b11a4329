"""The indexing job: discover → hash → decode → (analyse) → embed → write, resumable and parallel."""

from traum.pipeline.indexer import IndexOptions, run_index
from traum.pipeline.report import IndexReport, Progress

__all__ = ["IndexOptions", "IndexReport", "Progress", "run_index"]
