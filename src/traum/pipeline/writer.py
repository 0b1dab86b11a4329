"""The batch writer, on the main thread: collects prepared files, feeds the model in batches and writes
each batch in one transaction, so a kill at any moment loses only the uncommitted work.

A file's analysis runs in the process pool while its windows go through the model: after inference,
files whose analysis is done are written, the others wait (vectors only, their samples freed) for a
later batch, so one long analysis never holds up the model or the files behind it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from traum.catalog import Catalog
from traum.catalog.store import PathOutcome
from traum.embedding.base import EmbeddingModel, pool_windows
from traum.embedding.windows import DEFAULT_MAX_WINDOWS
from traum.errors import CatalogError
from traum.pipeline.dedupe import Claims, Waiting, same_failure
from traum.pipeline.heap import HeapTrimmer
from traum.pipeline.prepare import Prepared, cache_key, collect_facts
from traum.pipeline.report import IndexReport, Progress, interrupts_held

if TYPE_CHECKING:
    from traum.embedding.cache import EmbeddingCache, Vectors
    from traum.embedding.zero_shot import ZeroShotCategories

#: Commit at least this often, so a long run never holds much unsaved work.
FLUSH_SECONDS = 5.0
#: Files per transaction at most, whatever the model's batch.
MAX_BATCH_FILES = 256
#: Embedded files waiting for their analysis at most; beyond this the writer waits for the oldest.
MAX_WAITING_FOR_ANALYSIS = 64


@dataclass
class Batch:
    prepared: list[Prepared] = field(default_factory=list)
    outcomes: list[PathOutcome] = field(default_factory=list)
    windows: int = 0
    started: float = field(default_factory=time.monotonic)

    def __len__(self) -> int:
        return len(self.prepared) + len(self.outcomes)


class BatchWriter:
    def __init__(self, catalog: Catalog, model: EmbeddingModel | None, cache: EmbeddingCache | None,
                 claims: Claims, report: IndexReport, progress: Progress, batch_size: int | None,
                 zero_shot: ZeroShotCategories | None = None,
                 inference_cores: Callable[[], int | None] | None = None,
                 max_windows: int | None = DEFAULT_MAX_WINDOWS) -> None:
        self.catalog = catalog
        self.model = model
        self.cache = cache
        self.claims = claims
        self.report = report
        self.progress = progress
        #: Windows per inference batch: the caller's choice, else the device's default, shrunk on OOM.
        self._batch: int | None = batch_size
        self._zero_shot = zero_shot
        self._inference_cores = inference_cores
        #: The run's window budget: part of the embedding cache key.
        self.max_windows = max_windows
        #: Embedded, waiting for analysis: (item, its vectors).
        self._embedded: list[tuple[Prepared, Vectors | None]] = []
        self._trim_heap = HeapTrimmer()

    def full(self, batch: Batch) -> bool:
        if self.model is not None and batch.windows >= self._batch_size():
            return True
        return len(batch) >= MAX_BATCH_FILES or (bool(batch) and time.monotonic() - batch.started > FLUSH_SECONDS)

    def _batch_size(self) -> int:
        if not self._batch:
            from traum.embedding.batching import default_batch_size

            self._batch = default_batch_size(getattr(self.model, "device", "cpu"))
        return self._batch

    def accept(self, result: Prepared | Waiting | PathOutcome, batch: Batch) -> None:
        if isinstance(result, Prepared):
            batch.prepared.append(result)
            batch.windows += len(result.features)
            return
        if isinstance(result, Waiting):
            settled = self.claims.settle(result)
            if settled is None:
                return
            result = settled
        if result.status == "failed" and result.file_hash:
            for waiter in self.claims.drop(result.file_hash):
                self.accept(same_failure(result, waiter), batch)
        batch.outcomes.append(result)  # counted once committed (flush)

    def _count(self, outcome: PathOutcome, *, linked: bool = True) -> None:
        if outcome.status == "skipped":
            self.report.skipped += 1
            self.report.skip_reasons[(outcome.error or "").split(" (")[0].split(": ")[-1]] += 1
        elif outcome.status == "failed":
            self.report.failed += 1
            self.report.failures.append((outcome.path, outcome.error or ""))
        elif linked:
            self.report.linked += 1
        else:
            self.report.indexed += 1
        self.progress.advance()

    def flush(self, batch: Batch, *, final: bool = False) -> Batch:
        """Embed the batch, then write every file that is ready; ``final`` waits for all analyses."""
        model = self.model
        if model is not None and batch.prepared:
            vectors = self._embed(model, batch.prepared)
            self._embedded += [(item, vectors.get(item.stem_id)) for item in batch.prepared]
        else:
            self._embedded += [(item, None) for item in batch.prepared]
        self._trim_heap()  # the batch's samples and features are freed by now
        ready = self._ready(final)
        if not ready and not batch.outcomes:
            return Batch()
        for item, _ in ready:
            collect_facts(item, self.report)
        if model is not None:
            self._add_zero_shot_categories(model, ready)
        embeddings = [(item.stem_id, v[0], v[1], model.model_id) for item, v in ready if model and v is not None]
        outcomes = list(batch.outcomes)
        for item, _ in ready:
            outcomes.append(item.outcome)
            outcomes.extend(self.claims.parked(item.stem_id))
        # A Ctrl+C after the commit waits until its files are counted: the report says what the catalog holds.
        with interrupts_held(), self.report.timed("write"):
            try:
                self.catalog.write_batch((item.stem for item, _ in ready if item.stem), outcomes, embeddings)
            except sqlite3.OperationalError as err:
                # One transaction per batch: nothing of it is recorded, everything before it is kept.
                raise CatalogError(f"cannot write the catalog {self.catalog.path}: {err}. Everything committed "
                                   "so far is kept; fix the cause and run the same command again") from err
            for outcome in batch.outcomes:
                self._count(outcome)
            for item, _ in ready:
                for waiter in self.claims.finish(item.stem_id):
                    self._count(waiter)
            for item, _ in ready:
                self._count(item.outcome, linked=False)
        return Batch()

    @property
    def waiting_for_analysis(self) -> int:
        return len(self._embedded)

    def _ready(self, final: bool) -> list[tuple[Prepared, Vectors | None]]:
        """Embedded files whose analysis is done; the oldest are waited for when too many wait, or all at
        the end of the run."""
        keep = 0 if final else MAX_WAITING_FOR_ANALYSIS
        excess = max(0, len(self._embedded) - keep)
        forced, rest = self._embedded[:excess], self._embedded[excess:]
        with self.report.timed_wait("writer waits for analysis"):
            for item, _ in forced:
                if item.facts is not None:
                    item.facts.exception()  # blocks until done; errors are handled by collect_facts
        ready = forced + [pair for pair in rest if pair[0].facts is None or pair[0].facts.done()]
        waiting = [pair for pair in rest if not (pair[0].facts is None or pair[0].facts.done())]
        self._embedded = waiting
        return ready

    def _add_zero_shot_categories(self, model: EmbeddingModel, ready: list[tuple[Prepared, Vectors | None]]) -> None:
        """CLAP's zero-shot verdict joins the names and acoustics (it counts only when sure)."""
        from traum.analysis.category import fuse_zero_shot

        new = [(item.stem, vectors[0]) for item, vectors in ready if item.stem is not None and vectors is not None]
        if not new:
            return
        if self._zero_shot is None:
            from traum.embedding.zero_shot import ZeroShotCategories

            self._zero_shot = ZeroShotCategories(model)
        for stem, pooled in new:
            facts = stem.facts
            current = (facts.get("category"), facts.get("category_confidence"))
            facts["category"], facts["category_confidence"] = fuse_zero_shot(current, self._zero_shot.classify(pooled))

    def _embed(self, model: EmbeddingModel, prepared: list[Prepared]) -> dict[str, Vectors]:
        from traum.embedding.batching import embed_in_batches

        out = {item.stem_id: item.cached for item in prepared if item.cached is not None}
        todo = [item for item in prepared if item.cached is None]
        features = [f for item in todo for f in item.features]
        if features:
            with self.report.timed("infer"):
                vectors, self._batch = embed_in_batches(model, features, self._batch_size(),
                                                        inference_cores=self._inference_cores)
            self.report.windows_embedded += len(features)
        start = 0
        for item in todo:
            mine = vectors[start:start + len(item.features)]
            start += len(item.features)
            out[item.stem_id] = (pool_windows(mine), list(zip(item.offsets, mine, strict=True)))
            item.features = []  # the samples are not needed any more; the file may wait for its analysis
        if self.cache is not None and todo:
            self.cache.put_many([(cache_key(item.stem_id, model, self.max_windows), out[item.stem_id])
                                 for item in todo])
        return out
