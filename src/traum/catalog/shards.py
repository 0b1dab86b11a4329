"""Parquet shards: the rows an indexing run produces, as files a cluster writes and a catalog merges.

One row per path: the status row (path, size, mtime, status, error) and, when its content was
decoded, the stem (content hash, format, facts as JSON) with its vectors (pooled file vector, window
offsets and vectors). The same schema carries rows from the Ray workers to the driver, so a streamed
run and a merged shard go through one reader and the catalog's one write path
(:meth:`~traum.catalog.store.Catalog.write_batch`).

Merging is idempotent: a row whose path the catalog already records with the same content, size,
mtime and verdict, and a stem it already holds embedded with the same model, are left alone, so
merging a shard twice writes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from traum.catalog.store import Catalog, PathOutcome, StemRecord, _json_default
from traum.errors import ConfigError, NotFound

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

log = logging.getLogger(__name__)

#: Status of a row whose file is hashed but not decoded yet (between the executor's two passes).
HASHED = "hashed"
#: Rows per catalog transaction while merging.
MERGE_BATCH = 256

Vectors = tuple[np.ndarray, list[tuple[float, np.ndarray]]]


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as err:
        raise ConfigError("shards need pyarrow: install traum[ray] (pip install 'traum[ray]')") from err


def schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        ("path", pa.binary()),  # os.fsencode: names that are not UTF-8 survive
        ("file_size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("checkpoint", pa.string()),
        ("processing_time", pa.float64()),
        ("file_hash", pa.string()),
        # The stem, for new content; null for a path that links to known content.
        ("duration", pa.float64()),
        ("sample_rate", pa.int32()),
        ("channels", pa.int32()),
        ("bit_depth", pa.int32()),
        ("format", pa.string()),
        ("facts", pa.string()),
        # The embedding; null when the model was unavailable or the content already embedded.
        ("model", pa.string()),
        ("model_id", pa.string()),
        ("vector", pa.list_(pa.float32())),
        ("window_offsets", pa.list_(pa.float64())),
        ("window_vectors", pa.list_(pa.list_(pa.float32()))),
    ])


@dataclass(slots=True)
class ShardRow:
    outcome: PathOutcome
    stem: StemRecord | None = None
    vectors: Vectors | None = None
    model: str | None = None
    model_id: str | None = None


def to_row(outcome: PathOutcome, stem: StemRecord | None = None, vectors: Vectors | None = None,
           model: str | None = None, model_id: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "path": os.fsencode(outcome.path), "file_size": outcome.file_size, "mtime_ns": outcome.mtime_ns,
        "status": outcome.status, "error": outcome.error,
        "checkpoint": json.dumps(outcome.checkpoint) if outcome.checkpoint else None,
        "processing_time": outcome.processing_time, "file_hash": outcome.file_hash}
    if stem is not None:
        row.update(duration=stem.duration, sample_rate=stem.sample_rate, channels=stem.channels,
                   bit_depth=stem.bit_depth, format=stem.format, facts=json.dumps(stem.facts, default=_json_default))
    if vectors is not None:
        pooled, windows = vectors
        row.update(model=model, model_id=model_id, vector=np.asarray(pooled, np.float32).tolist(),
                   window_offsets=[float(o) for o, _ in windows],
                   window_vectors=[np.asarray(v, np.float32).tolist() for _, v in windows])
    return row


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema())


def read_rows(table: pa.Table) -> Iterator[ShardRow]:
    for r in table.select(schema().names).to_pylist():
        path = os.fsdecode(r["path"])
        outcome = PathOutcome(path=path, status=r["status"], file_hash=r["file_hash"], file_size=r["file_size"],
                              mtime_ns=r["mtime_ns"], error=r["error"], processing_time=r["processing_time"],
                              checkpoint=json.loads(r["checkpoint"]) if r["checkpoint"] else None)
        stem = None
        if r["facts"] is not None:
            stem = StemRecord(r["file_hash"], path, r["file_size"], r["duration"], r["sample_rate"], r["channels"],
                              r["bit_depth"], r["format"], json.loads(r["facts"]))
        vectors = None
        if r["vector"] is not None:
            windows = [(o, np.asarray(v, np.float32))
                       for o, v in zip(r["window_offsets"] or [], r["window_vectors"] or [], strict=True)]
            vectors = (np.asarray(r["vector"], np.float32), windows)
        yield ShardRow(outcome, stem, vectors, r["model"], r["model_id"])


# -- where shards live ---------------------------------------------------------------------------------

def filesystem(directory: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and path for ``directory``: a local path, any URI pyarrow knows (s3://, gs://,
    hdfs://) or any fsspec protocol (through pyarrow's fsspec handler)."""
    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(directory if "://" in directory else os.path.abspath(directory))
        return fs, str(path)
    except Exception as native_error:  # noqa: BLE001 - an unknown scheme: fsspec may know it
        try:
            import fsspec

            fs, path = fsspec.core.url_to_fs(directory)
        except Exception as err:
            raise ConfigError(f"cannot open the shard folder {directory}: {native_error}; {err}") from err
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def write_shard(table: pa.Table, directory: str, prefix: str = "driver") -> str:
    """One Parquet file in ``directory``, written under a temporary name and renamed, so a reader never
    sees half a shard (where the filesystem renames atomically)."""
    import pyarrow.parquet as pq

    fs, root = filesystem(directory)
    fs.create_dir(root, recursive=True)
    name = f"{prefix}-{uuid.uuid4().hex}.parquet"
    partial = f"{root}/.{name}.partial"
    pq.write_table(table, partial, filesystem=fs)
    fs.move(partial, f"{root}/{name}")
    return f"{root}/{name}"


def shard_files(directory: str) -> tuple[pafs.FileSystem, list[str]]:
    import pyarrow.fs as pafs

    fs, root = filesystem(directory)
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        return fs, []
    if info.type != pafs.FileType.Directory:
        raise ConfigError(f"{directory} is not a folder of shards")
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    names = [i.path for i in found if i.type == pafs.FileType.File and i.path.endswith(".parquet")
             and not os.path.basename(i.path).startswith(".")]
    return fs, sorted(names)


def read_shard(fs: pafs.FileSystem, path: str, columns: list[str] | None = None) -> pa.Table | None:
    """A shard's rows, or None (logged) if it cannot be read: a worker killed while writing it."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, filesystem=fs, columns=columns)
    except Exception as err:  # noqa: BLE001 - one broken shard never stops a merge; its files are redone
        log.warning("cannot read shard %s: %s", path, err)
        return None


def done_in_shards(directory: str) -> set[tuple[str, int, int]]:
    """(path, size, mtime) of every file the shards already hold: a rerun after a killed driver skips them."""
    fs, names = shard_files(directory)
    done = set()
    for name in names:
        table = read_shard(fs, name, ["path", "file_size", "mtime_ns", "status"])
        if table is None:
            continue
        for r in table.to_pylist():
            if r["status"] != HASHED:
                done.add((os.fsdecode(r["path"]), r["file_size"], r["mtime_ns"]))
    return done


# -- merging ---------------------------------------------------------------------------------------

@dataclass
class MergeReport:
    shards: int = 0
    rows: int = 0
    #: Rows already in the catalog exactly as the shard has them.
    unchanged: int = 0
    paths_written: int = 0
    stems_written: int = 0
    broken: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"shards": self.shards, "rows": self.rows, "unchanged": self.unchanged,
                "paths_written": self.paths_written, "stems_written": self.stems_written, "broken": self.broken}


def merge(catalog: Catalog, directory: str) -> MergeReport:
    """Fold every shard under ``directory`` into ``catalog``. Rows with content come first, then the rows
    that only link a path to content, so a link never lands before its stem; a link to content whose
    decoding failed fails with it, as in a local run."""
    report = MergeReport()
    fs, names = shard_files(directory)
    if not names:
        raise NotFound(f"no shards (*.parquet) under {directory}; pass the folder given to `traum index --shards`")
    tables = []
    for name in names:
        table = read_shard(fs, name)
        if table is None:
            report.broken.append(name)
        else:
            tables.append(table)
    report.shards = len(tables)
    rows = [row for table in tables for row in read_rows(table) if row.outcome.status != HASHED]
    report.rows = len(rows)
    failed = {r.outcome.file_hash: r.outcome for r in rows
              if r.outcome.status == "failed" and r.outcome.file_hash}
    content = [r for r in rows if r.stem is not None or r.vectors is not None]
    links = [r for r in rows if r.stem is None and r.vectors is None]
    for part in (content, links):
        for start in range(0, len(part), MERGE_BATCH):
            _merge_batch(catalog, part[start:start + MERGE_BATCH], failed, report)
    model = next(((r.model, r.model_id) for r in reversed(content) if r.model_id), None)
    if model is not None and report.stems_written:
        with catalog.transaction():
            catalog.set_meta("model", {"name": model[0], "id": model[1]})
    return report


def _merge_batch(catalog: Catalog, rows: list[ShardRow], failed: dict[str, PathOutcome],
                 report: MergeReport) -> None:
    stems: list[StemRecord] = []
    embeddings: list[tuple[str, np.ndarray, list[tuple[float, np.ndarray]], str]] = []
    outcomes: list[PathOutcome] = []
    for row in rows:
        outcome = row.outcome
        digest = outcome.file_hash
        if outcome.status == "indexed" and row.stem is None and digest in failed \
                and catalog.stem_embedded_with(digest) is False:
            outcome = replace(failed[digest], path=outcome.path, file_size=outcome.file_size,
                              mtime_ns=outcome.mtime_ns)
        wrote = False
        if row.vectors is not None and row.model_id and outcome.file_hash \
                and catalog.stem_embedded_with(outcome.file_hash) != row.model_id:
            if row.stem is not None:
                stems.append(row.stem)
            pooled, windows = row.vectors
            embeddings.append((outcome.file_hash, pooled, windows, row.model_id))
            wrote = True
        elif row.stem is not None and catalog.stem_embedded_with(row.stem.id) is False:
            stems.append(row.stem)
            wrote = True
        if wrote:
            report.stems_written += 1
        if not _recorded(catalog, outcome):
            outcomes.append(outcome)
            wrote = True
        if not wrote:
            report.unchanged += 1
    report.paths_written += len(outcomes)
    if stems or embeddings or outcomes:
        catalog.write_batch(_unique_stems(stems), outcomes, embeddings)


def _unique_stems(stems: Iterable[StemRecord]) -> list[StemRecord]:
    return list({s.id: s for s in stems}.values())


def _recorded(catalog: Catalog, outcome: PathOutcome) -> bool:
    """The catalog holds this path with this content and verdict already."""
    state = catalog.file_state(outcome.path)
    if state is None or (state.file_hash, state.file_size, state.mtime_ns) != (
            outcome.file_hash, outcome.file_size, outcome.mtime_ns):
        return False
    if outcome.status == "indexed":
        return state.status in ("indexed", "pending")
    return state.status == outcome.status and state.error_message == outcome.error
