"""Finding and reading audio: discovery of files on disk, content hashes, decoding and resampling.

Nothing here knows about the catalog.
"""

from traum.audio.decode import AudioInfo, Decoded, load, peaks, probe
from traum.audio.discover import Found, Unreadable, discover
from traum.audio.fingerprint import content_hash

__all__ = ["AudioInfo", "Decoded", "Found", "Unreadable", "content_hash", "discover", "load", "peaks", "probe"]
