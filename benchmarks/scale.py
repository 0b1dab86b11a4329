"""How far one machine goes: a synthetic catalog of N stems through the real write path, then the
search engine's vector index over it, and IVF-PQ (the plan for 10M+) beside it. docs/scale.md quotes it.

    python benchmarks/scale.py [--rows 1000000] [--queries 200] [--db PATH [--reuse]] [--sql-only]

Rows: Catalog.write_batch (stems + path outcomes + 512-d pooled vectors) in batches of 2,000 for the
first --api-rows, the rest with the same columns in bulk SQL (write_sql says why); names
built from the producer vocabulary so FTS5 has realistic words; vectors clustered like real embeddings
(benchmarks/search.py). Then, as `traum search` / `traum serve` do: SearchEngine.vector_index() on a
cold catalog (read every vector, build FAISS, save), reopened from its saved copy; single-query vector
latency. Baseline: exact search (numpy) on the same vectors, the recall reference. No window vectors
(one vector per stem, as for one-shots); a loop with windows adds one vector per 10 s window.

Name queries and fact filters, before and after schema 5, in the same run on the same rows: the catalog
is put back to schema 4's fact indexes (one per column) and queried with the SQL select_ids and
Catalog.lexical ran before schema 5; then opened by Catalog, which upgrades it in place (timed), and queried
through the API. Fact filters must give the same ids; for name queries the table says whether the
bounded ranking's best 500 have the full ranking's score at every rank (nothing better was left out).
A search's own filter skips the presence check (its candidates are present anyway): measured too.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from common import log, table

from search import DIM, clustered

BATCH = 2_000
PACKS = ("Vintage Drums", "Trap Essentials", "Lo-Fi Keys", "Cinematic FX", "House Grooves", "Vocal Chops")
KINDS = (("kick", "drums"), ("snare", "drums"), ("hat", "drums"), ("clap", "drums"), ("bass", "bass"),
         ("pad", "keys"), ("lead", "synth"), ("riser", "fx"), ("vox", "vocals"), ("loop", "drums"))
MODEL = "laion/clap-htsat-unfused"
KEYS = ("C", "Cm", "D", "Dm", "E", "Em", "F", "Fm", "G", "Gm", "A", "Am")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_rows(start: int, stop: int, vectors: np.ndarray, rng: np.random.Generator) -> list[dict]:
    rows = []
    for i in range(start, stop):
        word, category = KINDS[i % len(KINDS)]
        bpm = int(rng.integers(70, 175))
        rows.append({"id": f"{i:016x}{rng.integers(0, 2**62):016x}",  # stem ids begin with the row number
                     "path": f"/library/{PACKS[i % len(PACKS)]}/{category}/{word}_{bpm}bpm_{KEYS[i % 12]}_{i}.wav",
                     "facts": {"bpm": float(bpm), "key": KEYS[i % 12], "category": category,
                               "category_confidence": 0.8, "loudness_lufs": -12.0, "true_peak_dbfs": -1.0,
                               "quality_ok": True},
                     "vector": vectors[i]})
    return rows


def write_api(catalog, rows: list[dict]) -> None:
    """The pipeline's own write: Catalog.write_batch."""
    from traum.catalog.store import PathOutcome, StemRecord

    catalog.write_batch(
        [StemRecord(r["id"], r["path"], 400_000, 2.5, 44_100, 2, 24, "WAV", r["facts"]) for r in rows],
        [PathOutcome(r["path"], "indexed", r["id"], 400_000, 1_700_000_000_000_000_000) for r in rows],
        [(r["id"], r["vector"], [], MODEL) for r in rows])


def write_sql(catalog, rows: list[dict]) -> None:
    """The same rows and columns as write_batch, in bulk (executemany): write_batch's per-row upserts
    and document refreshes would take an hour for 1M rows on 2 cores. Search documents come from the
    catalog's own path_document, and the FTS5 triggers run as for any insert."""
    from traum.catalog.documents import path_document
    from traum.catalog.store import now, to_blob
    from traum.settings import PROCESSING_VERSION

    facts = list(rows[0]["facts"])
    columns = ["id", "path", "filename", "file_size", "duration", "sample_rate", "channels", "bit_depth", "format",
               *facts, "imported_at", "processing_version", "clap_embedding", "embedding_model"]
    stamp = now()
    with catalog.transaction() as conn:
        conn.executemany(
            f"INSERT INTO stems ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [(r["id"], r["path"], os.path.basename(r["path"]), 400_000, 2.5, 44_100, 2, 24, "WAV",
              *(int(v) if isinstance(v, bool) else v for v in r["facts"].values()), stamp, PROCESSING_VERSION,
              to_blob(r["vector"]), MODEL) for r in rows])
        conn.executemany(
            "INSERT INTO processing_status (file_path, file_hash, status, last_attempt, retry_count, file_size, "
            "mtime_ns, search_text) VALUES (?, ?, 'indexed', ?, 0, 400000, 1700000000000000000, ?)",
            [(r["path"], r["id"], stamp, path_document(r["path"], None, None, r["facts"]["category"], 0.8))
             for r in rows])


def write_catalog(path: Path, vectors: np.ndarray, rng: np.random.Generator, api_rows: int) -> tuple[float, float]:
    """→ (rows/s through write_batch, seconds for all rows)."""
    from traum.catalog import Catalog

    n = len(vectors)
    started = time.perf_counter()
    api_s = 0.0
    with Catalog(path) as catalog:
        for start in range(0, n, BATCH):
            rows = synthetic_rows(start, min(n, start + BATCH), vectors, rng)
            if start < api_rows:
                t = time.perf_counter()
                write_api(catalog, rows)
                api_s += time.perf_counter() - t
            else:
                write_sql(catalog, rows)
            if start % 100_000 == 0:
                log(f"  {start + len(rows):,} rows, {time.perf_counter() - started:.0f} s")
        catalog.write_batch()  # bumps the generation, as the end of an indexing batch does
    return min(n, api_rows) / api_s, time.perf_counter() - started


def latency_ms(fn, queries) -> tuple[float, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


#: Catalog.lexical before schema 5's release: FTS5 ranks every match (ORDER BY rank), then the best 500.
BEFORE_LEXICAL_SQL = (
    "SELECT p.file_hash, -m.rank, p.file_path FROM (SELECT rowid, rank FROM paths_fts WHERE paths_fts "
    "MATCH ? ORDER BY rank LIMIT ?) m JOIN processing_status p ON p.id = m.rowid "
    "WHERE p.status IN ('indexed', 'pending') AND p.file_hash IS NOT NULL ORDER BY m.rank, p.file_path")
#: Schema 4's fact indexes, one per column, in place of schema 5's covering ones.
SCHEMA_4_INDEXES = """
    DROP INDEX IF EXISTS idx_stems_category_bpm; DROP INDEX IF EXISTS idx_stems_bpm_id;
    CREATE INDEX IF NOT EXISTS idx_stems_category ON stems(category);
    CREATE INDEX IF NOT EXISTS idx_stems_bpm ON stems(bpm);
    PRAGMA user_version = 4;
"""


def sql_queries() -> tuple[dict, dict]:
    from traum.catalog.filters import StemFilter
    from traum.search.lexical import fts_match

    filters = {"bpm 120-124, drums": StemFilter(bpm_spans=((120.0, 124.0),), category="drums"),
               "bpm 120-124": StemFilter(bpm_spans=((120.0, 124.0),)),
               "bpm 120-124 or half/double, drums": StemFilter(
                   bpm_spans=((120.0, 124.0), (60.0, 62.0), (240.0, 248.0)), category="drums")}
    names = {"'kick', 500 best": '"kick"', "search 'kick' (synonyms, prefix)": fts_match(["kick"])}
    return filters, names


def select_ids_before(f) -> tuple[str, list]:
    """The SQL Catalog.select_ids built for a tempo and category filter before schema 5."""
    from traum.catalog.filters import StemFilter

    assert f == StemFilter(bpm_spans=f.bpm_spans, category=f.category)
    spans = " OR ".join("s.bpm BETWEEN ? AND ?" for _ in f.bpm_spans)
    return (f"SELECT s.id FROM stems s WHERE (1 AND ({spans}) AND s.category = ?) AND EXISTS (SELECT 1 FROM "
            "processing_status p WHERE p.file_hash = s.id AND p.status IN ('indexed', 'pending'))"
            if f.category is not None else
            f"SELECT s.id FROM stems s WHERE (1 AND ({spans})) AND EXISTS (SELECT 1 FROM processing_status p "
            "WHERE p.file_hash = s.id AND p.status IN ('indexed', 'pending'))",
            [x for span in f.bpm_spans for x in span] + ([f.category] if f.category is not None else []))


def lexical_before(conn: sqlite3.Connection, match: str) -> list[tuple[str, float]]:
    best: dict[str, float] = {}
    for stem_id, score, _path in conn.execute(BEFORE_LEXICAL_SQL, (match, 500)):
        best.setdefault(stem_id, float(score))
    return list(best.items())


def sql_before_after(db: Path, repeats: int) -> tuple[list[list], float]:
    """Rows of the before/after table, and the seconds the in-place upgrade took."""
    from traum.catalog import Catalog

    filters, names = sql_queries()
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA_4_INDEXES)
    before: dict[str, tuple] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for label, f in filters.items():
            sql, params = select_ids_before(f)
            ids = [r[0] for r in conn.execute(sql, params)]
            before[label] = (latency_ms(lambda _q, sql=sql, params=params: conn.execute(sql, params).fetchall(),
                                        range(max(3, repeats // 4))), ids)
        for label, match in names.items():
            before[label] = (latency_ms(lambda _q, match=match: lexical_before(conn, match), range(repeats)),
                             lexical_before(conn, match))
    started = time.perf_counter()
    Catalog(db).close()  # upgrades it to the current schema
    upgrade_s = time.perf_counter() - started
    rows = []
    with Catalog(db, readonly=True) as catalog:
        for label, f in filters.items():
            ids = catalog.select_ids(f)
            after = latency_ms(lambda _q, f=f: catalog.select_ids(f), range(repeats))
            (b50, b95), old = before[label]
            same = "same ids" if sorted(ids) == sorted(old) else f"DIFFERENT ids ({len(ids)} vs {len(old)})"
            rows.append([f"fact filter: {label}", f"{b50:.1f} / {b95:.1f}", f"{after[0]:.1f} / {after[1]:.1f}",
                         f"{len(ids):,} ids, {same}"])
            # The search's own filter leaves presence to its candidates (SearchEngine._allowed).
            unchecked = catalog.select_ids(f, present_only=False)
            fast = latency_ms(lambda _q, f=f: catalog.select_ids(f, present_only=False), range(repeats))
            rows.append([f"  as a search filters: {label}", f"{b50:.1f} / {b95:.1f}", f"{fast[0]:.1f} / {fast[1]:.1f}",
                         f"{len(unchecked):,} ids, {len(unchecked) - len(ids):,} of them without a present path"])
        for label, match in names.items():
            hits = catalog.lexical(match)
            after = latency_ms(lambda _q, match=match: catalog.lexical(match), range(repeats))
            (b50, b95), old = before[label]
            rows.append([f"name query: {label}", f"{b50:.1f} / {b95:.1f}", f"{after[0]:.1f} / {after[1]:.1f}",
                         top_k_difference(old, [(i, s) for i, s, _p in hits], catalog.conn, match)])
    return rows, upgrade_s


def top_k_difference(full: list[tuple[str, float]], bounded: list[tuple[str, float]], conn, match: str) -> str:
    """How the bounded ranking's best differ from the full ranking's: equal scores at every rank mean
    no better-scored path was left out, only others of equal score taken."""
    matches = conn.execute("SELECT count(*) FROM paths_fts WHERE paths_fts MATCH ?", (match,)).fetchone()[0]
    lower = sum(b[1] < f[1] - 1e-9 for f, b in zip(full, bounded, strict=False)) + max(0, len(full) - len(bounded))
    common = len({i for i, _ in full} & {i for i, _ in bounded})
    verdict = "same score at every rank" if lower == 0 else f"{lower} ranks score lower"
    return f"{matches:,} paths match; {verdict}; {common} of {len(full)} ids in common"


def recall(found: list[list], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]))


def ivfpq(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, m: int = 64) -> list:
    """IVF-PQ, m bytes a vector: what a 10M+ catalog's index would be (docs/scale.md)."""
    import faiss

    nlist = int(min(16_384, 4 * np.sqrt(len(vectors))))
    started = time.perf_counter()
    index = faiss.IndexIVFPQ(faiss.IndexFlatIP(DIM), DIM, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).choice(len(vectors), min(len(vectors), nlist * 40), replace=False)]
    index.train(sample)
    index.add(vectors)
    build = time.perf_counter() - started
    rows = []
    for nprobe in (24, 64):
        index.nprobe = nprobe
        # Refine: PQ distances are coarse; re-rank 10×k candidates by their exact vectors (in a 10M+
        # deployment those come from the catalog or an fp16 file on disk, not RAM).
        _, cand = index.search(queries, 100)
        found = [c[np.argsort(-(vectors[c] @ q))][:10].tolist() for c, q in zip(cand, queries, strict=True)]
        p50, p95 = latency_ms(lambda q: index.search(q[None], 100), queries[:100])
        rows.append([f"IVF{nlist},PQ{m} nprobe {nprobe} + refine", build, p50, p95, recall(found, truth),
                     faiss.serialize_index(index).nbytes / 2**20])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--api-rows", type=int, default=20_000,
                        help="rows written through Catalog.write_batch (the rest in bulk SQL)")
    parser.add_argument("--db", type=Path, help="keep the catalog here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="--db already holds the --rows rows of an earlier run: skip the write")
    parser.add_argument("--sql-only", action="store_true",
                        help="only the name queries and fact filters, not the vector index")
    parser.add_argument("--sql-repeats", type=int, default=40, help="runs per name query and fact filter")
    args = parser.parse_args()
    if args.reuse and args.db is None:
        parser.error("--reuse needs --db")

    rng = np.random.default_rng(7)
    tmp = Path(tempfile.mkdtemp(prefix="traum-scale-"))
    db = args.db or tmp / "catalog.db"
    try:
        vectors = clustered(args.rows, rng) if not args.sql_only or not args.reuse else None
        write = None
        if not args.reuse:
            log(f"writing {args.rows:,} rows to {db}")
            write = write_catalog(db, vectors, rng, args.api_rows)
        log("name queries and fact filters, before and after schema 5")
        sql_rows, upgrade_s = sql_before_after(db, args.sql_repeats)
        print(f"\n## {args.rows:,} stems, {DIM}-d vectors, {os.cpu_count()} cores (load {os.getloadavg()[0]:.1f})\n")
        print(table([*sql_rows, ["upgrade in place to schema 5", "", f"{upgrade_s:.1f} s", "two indexes built"]],
                    ["query", "before p50 / p95 ms", "after p50 / p95 ms", "results"]))
        if not args.sql_only:
            vector_steps(args, db, vectors, write)
    finally:
        if args.db is None:
            shutil.rmtree(tmp, ignore_errors=True)


def vector_steps(args: argparse.Namespace, db: Path, vectors: np.ndarray, write: tuple[float, float] | None) -> None:
    from traum.catalog import Catalog
    from traum.search.engine import SearchEngine

    queries = clustered(args.queries, np.random.default_rng(8))
    size_mb = sum(f.stat().st_size for f in db.parent.glob(db.name + "*") if f.is_file()) / 2**20
    log("exact baseline")
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    exact_p50, exact_p95 = latency_ms(lambda q: np.argpartition(-(vectors @ q), 10)[:10], queries[:50])
    vectors = vectors[:0]  # frees them: the engine reads its own copy from the catalog, as serve does

    rss0 = rss_mb()
    with Catalog(db, readonly=True) as catalog:
        log("cold vector index: read the catalog's vectors, build FAISS, save")
        started = time.perf_counter()
        index = SearchEngine(catalog).vector_index()
        cold_s = time.perf_counter() - started
        index_rss = rss_mb() - rss0
        held_mb = index.memory_bytes() / 2**20
        p50, p95 = latency_ms(lambda q: index.search(q[None], 10), queries)
        # Stem ids begin with their row number in hex.
        found = [[int(i[:16], 16) for i in row] for row in index.search(queries, 10)[1]]
        rec = recall(found, truth)
        started = time.perf_counter()
        SearchEngine(catalog).vector_index()
        warm_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print()
    steps = []
    if write is not None:
        api_rate, write_s = write
        steps += [["catalog write, write_batch", f"{api_rate:,.0f} rows/s",
                   f"first {min(args.api_rows, args.rows):,} rows"],
                  ["catalog write, all rows", f"{write_s:.0f} s", "the rest in bulk SQL"]]
    steps += [
        ["catalog size (db + wal)", f"{size_mb:,.0f} MB", f"{size_mb * 2**20 / args.rows:,.0f} B/row"],
        ["cold index (read + FAISS build + save)", f"{cold_s:.0f} s", index.kind],
        ["reopen saved index", f"{warm_s:.1f} s", ""],
        ["vector index memory (held)", f"{held_mb:,.0f} MB", f"{held_mb / args.rows * 1e6:,.0f} MB/M"],
        ["process RSS growth with index", f"{index_rss:,.0f} MB", f"peak RSS {peak_mb:,.0f} MB"]]
    print(table(steps, ["step", "value", "note"]))
    print()
    rows = [["exact numpy (baseline)", 0.0, exact_p50, exact_p95, 1.0, args.rows * DIM * 4 / 2**20],
            [f"Traum VectorIndex ({index.kind}, nprobe {index.nprobe})", cold_s, p50, p95, rec, held_mb]]
    log("IVF-PQ")
    with Catalog(db, readonly=True) as catalog:
        stem_ids, matrix = catalog.embeddings()
    order = np.argsort([int(s[:16], 16) for s in stem_ids])
    rows += ivfpq(np.ascontiguousarray(matrix[order]), queries, truth)
    print(table(rows, ["vector search, k=10", "build s", "p50 ms", "p95 ms", "recall@10", "MB"]))

if __name__ == "__main__":
    main()
