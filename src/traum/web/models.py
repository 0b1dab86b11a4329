"""Response shapes of the API: what /openapi.json documents is what the endpoints return.

Catalog rows keep lists and feature sets as JSON text; here they become real lists and objects, so a
client never decodes JSON inside JSON.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from traum.catalog.paths import display


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _string_list(value: Any) -> list[str]:
    value = _json_value(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class ErrorBody(BaseModel):
    error: str = Field(description="One line: what failed and what to do.")


class Health(BaseModel):
    status: str = "ok"


class Status(BaseModel):
    counts: dict[str, int] = Field(description="Paths per processing status (indexed, pending, failed, …).")
    samples: int
    embedded: int
    model: str | None
    notice: str | None


class Marks(BaseModel):
    """The producer's own marks and the measured loudness and quality of a sample."""

    user_rating: int | None = Field(None, ge=1, le=5)
    user_tags: list[str] = []
    loudness_lufs: float | None = Field(None, description="Integrated loudness (EBU R128), LUFS.")
    true_peak_dbfs: float | None = Field(None, description="True peak, dBFS (dBTP).")
    quality_ok: bool | None = None
    quality_issues: list[str] = []

    @field_validator("user_tags", "quality_issues", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return _string_list(value)


class Hit(Marks):
    model_config = ConfigDict(extra="ignore")

    rank: int
    id: str
    path: str
    filename: str
    score: float
    duration: float | None
    bpm: float | None = None
    key: str | None = None
    category: str | None = None
    offset: float | None = Field(None, description="Start of the best-matching window, seconds.")
    cosine: float | None = None
    components: dict[str, float] | None = Field(None, description="Ranking signals, each scaled to 0–1.")

    @field_validator("path", "filename", mode="before")
    @classmethod
    def _shown(cls, value: str) -> str:
        return display(value)


class QueryExplained(BaseModel):
    model_config = ConfigDict(extra="allow")

    mode: str = Field(description="hybrid (model + names) or names (no model).")
    semantic_text: str | None = None
    notes: list[str] = []
    filters: dict[str, Any] = {}
    weights: dict[str, float] = {}


class Excluded(BaseModel):
    """One condition of an empty result: how many samples it lets through on its own."""

    filter: str = Field(description="bpm, key, category, loop, quality, loudness, duration, collection or words.")
    value: str
    matching: int = Field(description="Samples of the library this condition alone lets through.")


class Page(BaseModel):
    total: int = Field(description="Results in all (ranked candidates for a text query; matches for a list).")
    offset: int
    sort: str
    descending: bool
    why_empty: list[Excluded] = Field([], description="When nothing matched: each condition and what it lets "
                                                      "through alone.")


class SearchResponse(Page):
    query: QueryExplained
    notice: str | None
    results: list[Hit]


class Target(BaseModel):
    id: str
    filename: str
    path: str
    bpm: float | None = None
    key: str | None = None
    category: str | None = None

    @field_validator("path", "filename", mode="before")
    @classmethod
    def _shown(cls, value: str) -> str:
        return display(value)


class SimilarResponse(Page):
    target: Target = Field(description="The sample the results sound like.")
    aspect: str = Field(description="sound, or sound and the same bpm, key or category.")
    results: list[Hit]


class Collection(BaseModel):
    name: str
    size: int
    created_at: str


class Collections(BaseModel):
    collections: list[Collection]


class Stem(Marks):
    """Everything the catalog knows about one sample."""

    model_config = ConfigDict(extra="ignore")

    id: str
    path: str
    filename: str
    paths: list[str] = Field(description="Every present path with this content.")
    file_size: int | None = None
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_depth: int | None = None
    format: str | None = None
    bpm: float | None = None
    key: str | None = None
    tempo_confidence: float | None = None
    category: str | None = None
    category_confidence: float | None = None
    tags: list[str] = []
    spectral_features: dict[str, Any] | None = None
    temporal_features: dict[str, Any] | None = None
    harmonic_features: dict[str, Any] | None = None
    quality_score: float | None = None
    noise_level: float | None = None
    dynamic_range: float | None = None
    usage_count: int = 0
    imported_at: str | None = None
    last_accessed: str | None = None
    processing_version: int | None = None
    embedding_model: str | None = None
    facts: dict[str, Any] = Field({}, description="Plugin facts by name (docs/plugins.md), as `fact=` searches them.")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        return _string_list(value)

    @field_validator("spectral_features", "temporal_features", "harmonic_features", mode="before")
    @classmethod
    def _features(cls, value: Any) -> Any:
        return _json_value(value)

    @field_validator("path", "filename", mode="before")
    @classmethod
    def _shown(cls, value: str) -> str:
        return display(value)

    @field_validator("paths", mode="before")
    @classmethod
    def _all_shown(cls, value: list[str]) -> list[str]:
        return [display(p) for p in value]


class Waveform(BaseModel):
    id: str
    points: int
    peaks: list[float] = Field(description="Absolute peak (0–1) per equal slice of the file.")


class SampleMap(BaseModel):
    """Every present sample of a model on the 2-D map, as columns (100k samples stay a few MB):
    sample i is ``ids[i]`` at (``x[i]``, ``y[i]``) in [-1, 1], its category ``categories[category[i]]``."""

    ready: bool = Field(description="False (status 202) while the map is being laid out: ask again.")
    message: str = Field("", description="What is happening, e.g. 'laying out 12000 samples (40 s)'.")
    model: str | None = None
    ids: list[str] = []
    x: list[float] = []
    y: list[float] = []
    categories: list[str | None] = Field(default_factory=list, description="Each category once; null: unclassified.")
    category: list[int] = Field(default_factory=list, description="Per sample, its index into categories.")
