"""Embeddings out of the catalog, in the seed's formats: one entry per present, catalogued path.

Paths whose bytes are not UTF-8 (``os.fsdecode`` gives lone surrogates, see
:mod:`traum.catalog.paths`): the pickle keeps the exact str; the npy's ``.paths.json`` is written
with ``ensure_ascii`` so such a path is the escape ``\\udcXX`` and ``json.load`` gives the exact str
back; parquet needs valid UTF-8, so its ``path`` column holds the display form (U+FFFD for each
undecodable byte) and a ``path_bytes`` column holds every path's raw bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from traum.catalog.paths import display
from traum.catalog.store import Catalog
from traum.errors import ConfigError, TraumError

FORMATS = ("pkl", "npy", "parquet")
_SUFFIXES = {".pkl": "pkl", ".pickle": "pkl", ".npy": "npy", ".parquet": "parquet"}
#: The seed's vector size, for the shape of an empty export.
DIM = 512


def resolve_format(out: Path, format: str | None) -> str:
    """``format`` when given, else the one ``out``'s suffix names; a TraumError line otherwise."""
    if format:
        chosen = {"pickle": "pkl"}.get(format.lower(), format.lower())
        if chosen not in FORMATS:
            # Formats from plugins (the ``exporters`` hook); Traum's own are registered there too.
            from traum.plugins import exporters

            if chosen in exporters():
                return chosen
            raise ConfigError(f"unknown export format {format!r}; choose one of {', '.join(exporters())}")
        return chosen
    by_suffix = _SUFFIXES.get(out.suffix.lower())
    if by_suffix is None:
        raise ConfigError(f"cannot tell the export format from {out.name!r}; pass --format "
                          f"({', '.join(FORMATS)}) or name the file .pkl, .npy or .parquet")
    return by_suffix


def export_embeddings(catalog: Catalog, out: Path, format: str | None = None) -> int:
    """Write the embeddings of every present path to exactly ``out``; returns the number of entries.

    ``pkl``: the seed's ``embeddings.pkl``, a list of ``{"path", "embedding"}`` (float32, (512,)).
    ``npy``: an (n, 512) float32 matrix, with the paths in order in ``<out>.paths.json``.
    ``parquet``: columns ``id``, ``path``, ``path_bytes``, ``embedding`` (list of float32).
    Each file is written next to its target and renamed into place: a failure leaves nothing partial."""
    out = Path(out)
    chosen = resolve_format(out, format)
    _refuse_catalog_file(catalog, out)
    if chosen not in FORMATS:  # a plugin's format
        from traum.plugins import exporters

        return exporters()[chosen][1](catalog, out)
    paths, ids, matrix = catalog.path_embeddings()
    matrix = matrix.astype(np.float32) if len(paths) else np.zeros((0, DIM), np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "pkl":
        records = [{"path": p, "embedding": np.array(v, dtype=np.float32)} for p, v in zip(paths, matrix, strict=True)]
        _atomic_write(out, lambda fh: pickle.dump(records, fh, protocol=pickle.HIGHEST_PROTOCOL))
    elif chosen == "npy":
        # np.save on a file name appends ".npy" to one without it; on an open file it writes exactly there.
        _atomic_write(out, lambda fh: np.save(fh, matrix))
        listing = json.dumps(paths, ensure_ascii=True, indent=0).encode("ascii")
        _atomic_write(Path(str(out) + ".paths.json"), lambda fh: fh.write(listing))
    else:
        _write_parquet(out, ids, paths, matrix)
    return len(paths)


def _refuse_catalog_file(catalog: Catalog, out: Path) -> None:
    own = [Path(str(catalog.path) + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    for candidate in own:
        same = out.absolute() == candidate.absolute() or (
            out.exists() and candidate.exists() and os.path.samefile(out, candidate))
        if same:
            raise ConfigError(f"--out {out} is the catalog's own file; choose another file name")


def _atomic_write(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    with _temp_beside(target) as temp, open(temp, "wb") as fh:
        write(fh)


@contextlib.contextmanager
def _temp_beside(target: Path) -> Iterator[Path]:
    """A temporary file in ``target``'s folder (so the rename is atomic), renamed onto ``target`` when
    the block succeeds and removed when it fails."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_parquet(out: Path, ids: list[str], paths: list[str], matrix: np.ndarray) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise TraumError("parquet export needs pyarrow: pip install 'traum[parquet]'") from err
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])
    table = pa.table({"id": pa.array(ids, pa.string()), "path": pa.array([display(p) for p in paths], pa.string()),
                      "path_bytes": pa.array([os.fsencode(p) for p in paths], pa.binary()), "embedding": vectors})
    with _temp_beside(out) as temp:
        pq.write_table(table, temp)
