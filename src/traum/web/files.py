"""Which file on disk the server may read for a catalogued sample.

A catalogued path is served only while it is still the file that was indexed: a regular file (a
FIFO or device would hang the reader or leak something else) whose size and modification time equal
what indexing recorded. A file swapped for a symlink to a secret, truncated, rewritten or replaced by
a FIFO is a 404 until `traum index` looks at it again. The check follows symlinks on purpose: indexing
follows them too, so a library built from linked folders keeps playing.
"""

from __future__ import annotations

import os
import stat
from typing import Protocol

from traum.catalog.paths import display
from traum.errors import NotFound

CHANGED = "changed since indexing; run `traum index` to update the catalog"
GONE = "no longer on disk; run `traum index` to update the catalog"


class Recorded(Protocol):
    @property
    def file_size(self) -> int | None: ...

    @property
    def mtime_ns(self) -> int | None: ...


def checked_stat(path: str, recorded: Recorded | None) -> os.stat_result:
    """``os.stat`` of ``path`` if it may be served, else :class:`NotFound` with the reason."""
    try:
        st = os.stat(path)  # follows links; never opens, so a FIFO cannot block us here
    except FileNotFoundError:
        raise NotFound(f"{display(path)} is {GONE}") from None
    except OSError as err:
        raise NotFound(f"{display(path)} cannot be read ({err.strerror}); {CHANGED}") from None
    if recorded is None or recorded.file_size is None or recorded.mtime_ns is None:
        raise NotFound(f"{display(path)} has no recorded size and time; {CHANGED}")
    if not stat.S_ISREG(st.st_mode) or st.st_size != recorded.file_size or st.st_mtime_ns != recorded.mtime_ns:
        raise NotFound(f"{display(path)} {CHANGED}")
    return st

