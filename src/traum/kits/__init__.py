"""Kits: a set of samples out of the catalog into a folder, a zip or an SFZ instrument, for a DAW or a sampler.

No face here: the CLI (``traum kit export``) and the web page (``/api/collections/{name}/kit``) both
call :func:`export_kit`.
"""

from traum.kits.export import Conversion, KitReport, KitSample, Match, export_kit, samples_of

__all__ = ["Conversion", "KitReport", "KitSample", "Match", "export_kit", "samples_of"]
