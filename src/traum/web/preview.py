"""``/api/audio/{id}?bpm=…&key=…&tempo=half|double``: a sample rendered at the project's tempo and key;
``/api/preview/{id}?tempo=…``: the same decisions as data, for the page's own (in-browser) stretcher.

The rendering is :mod:`traum.audio.transform` (Signalsmith Stretch for loops, varispeed for one-shots).
Renders are kept in memory, bounded by bytes, keyed by the content id and the parameters: the id is the
file's content hash, so a kept render cannot go stale (the route still checks the file first, so a
changed file is a 404 and never served from the cache).
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from traum.errors import QueryError

#: Rendered previews kept in memory; a 4 s stereo loop at 44.1 kHz is ~0.7 MB as 16-bit WAV.
CACHE_BYTES = 96 * 1024 * 1024
#: Longer files are not rendered: a preview is for loops and one-shots, not whole recordings.
MAX_SECONDS = 120
MULTIPLIERS = {"half": 0.5, "double": 2.0}
#: The keys the page offers, named as it names them.
KEY_NAMES = tuple(f"{tonic} {mode}" for mode in ("major", "minor")
                  for tonic in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"))


@dataclass(frozen=True)
class PreviewRequest:
    bpm: float | None
    key: str | None
    tempo: str | None

    @property
    def wanted(self) -> bool:
        return self.bpm is not None or self.key is not None


def parse(bpm: str | None, key: str | None, tempo: str | None) -> PreviewRequest:
    """The query's preview parameters, or a :class:`QueryError` (400) saying which one is wrong."""
    from traum.audio.transform import parse_key

    project_bpm = None
    if bpm:
        try:
            project_bpm = float(bpm)
        except ValueError:
            project_bpm = math.nan
        if not 20 <= project_bpm <= 300:
            raise QueryError(f"bpm={bpm!r} is not a tempo: give the project's BPM, 20 to 300")
    if key:
        try:
            parse_key(key)
        except ValueError:
            raise QueryError(f"key={key!r} is not a key: try 'A minor', 'Am', 'F#' or 'Bb major'") from None
    if tempo and tempo not in MULTIPLIERS:
        raise QueryError(f"tempo={tempo!r}: use tempo=half or tempo=double to fix a loop's detected tempo")
    return PreviewRequest(project_bpm, key or None, tempo or None)


def root_note(stem: dict[str, Any]) -> str | None:
    """A pitched one-shot's root note as analysis recorded it ("C3"), if any."""
    features = stem.get("harmonic_features")
    try:
        parsed = json.loads(features) if isinstance(features, (str, bytes)) else features
    except ValueError:
        return None
    note = parsed.get("note") if isinstance(parsed, dict) else None
    return note if isinstance(note, str) else None


def plan_for(stem: dict[str, Any], request: PreviewRequest) -> Any:
    """The :class:`~traum.audio.transform.PreviewPlan` matching ``stem`` to the request's project, or a
    :class:`QueryError` saying why it cannot be (a stretch beyond 0.5x–2x)."""
    from traum.audio.transform import plan_preview

    try:
        return plan_preview(bpm=stem.get("bpm"), key=stem.get("key"), note=root_note(stem),
                            target_bpm=request.bpm, target_key=request.key,
                            tempo_multiplier=MULTIPLIERS.get(request.tempo or "", 1.0))
    except ValueError as err:
        raise QueryError(str(err)) from None


class KeyPlan(BaseModel):
    method: str = Field(description="none, stretch (a loop: tempo and pitch apart) or varispeed (a one-shot)")
    semitones: int = Field(description="the shift into this key, -5…+6")


class Matching(BaseModel):
    """How to match one sample to any project tempo and key (``GET /api/preview/{id}``)."""

    id: str
    bpm: float | None = Field(description="the loop's true tempo (the half/double fix applied); null: a one-shot")
    min_factor: float = Field(description="the smallest time factor (project BPM / bpm) Traum stretches by")
    max_factor: float
    keys: dict[str, KeyPlan] = Field(description="per project key ('A minor'): method and shift")


def matching(stem: dict[str, Any], tempo: str | None) -> Matching:
    """What the page needs to match ``stem`` to any project without asking again: the loop's true tempo
    (the project's BPM over it is the time factor) and, per key, the method and the shift. The musical
    decisions (nearest transposition, relative keys, varispeed for one-shots) stay in
    :func:`~traum.audio.transform.plan_preview`; the page only divides."""
    from traum.audio.transform import MAX_TIME_FACTOR, MIN_TIME_FACTOR

    true_bpm = stem["bpm"] * MULTIPLIERS.get(tempo or "", 1.0) if stem.get("bpm") else None
    keys = {}
    for name in KEY_NAMES:
        plan = plan_for(stem, PreviewRequest(None, name, tempo))
        keys[name] = KeyPlan(method=plan.method, semitones=plan.semitones)
    return Matching(id=stem["id"], bpm=true_bpm, min_factor=MIN_TIME_FACTOR, max_factor=MAX_TIME_FACTOR, keys=keys)


class Renders:
    """Rendered previews as WAV bytes, least recently used dropped first beyond :data:`CACHE_BYTES`."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self._kept: OrderedDict[tuple[str, PreviewRequest], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def wav(self, path: str, stem: dict[str, Any], request: PreviewRequest) -> bytes | None:
        """The matched version of the file at ``path``; None when nothing needs changing (play the file)."""
        plan = plan_for(stem, request)
        if not plan.changes_anything:
            return None
        key = (stem["id"], request)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        data = _render(path, plan)
        with self._lock:
            self._kept[key] = data
            self._size += len(data)
            while self._size > self.limit and len(self._kept) > 1:
                self._size -= len(self._kept.popitem(last=False)[1])
        return data


def _render(path: str, plan: Any) -> bytes:
    import numpy as np
    import soundfile as sf

    from traum.audio.transform import render

    with open(path, "rb") as raw:  # a file object: soundfile cannot open a non-UTF-8 name itself
        samples, rate = sf.read(raw, dtype="float32", always_2d=True)
    out = np.clip(render(samples, rate, plan), -1.0, 1.0)
    buffer = io.BytesIO()
    sf.write(buffer, out, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
