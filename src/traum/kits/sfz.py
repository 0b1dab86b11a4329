"""An SFZ instrument over a kit: one-shots one key each from C1 up, pitched sounds around their root note.

Middle C is C4 = MIDI 60 (the SFZ convention), so C1 = 24.
"""

from __future__ import annotations

import re

C1 = 24
_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def midi_of(note: str | None) -> int | None:
    """"C2" → 36, "F#3" → 54, "Bb1" → 34; None for anything else."""
    found = re.fullmatch(r"([A-Ga-g])([#b]?)(-?\d)", (note or "").strip())
    if not found:
        return None
    letter, accidental, octave = found.groups()
    value = _NAMES[letter.upper()] + {"#": 1, "b": -1, "": 0}[accidental] + (int(octave) + 1) * 12
    return value if 0 <= value <= 127 else None


def sfz_text(regions: list[tuple[str | None, str]]) -> str:
    """``regions``: (root note or None, sample path relative to the .sfz). Unpitched sounds get a key each
    from C1 up, in kit order; pitched ones span the keys above them, split halfway between roots."""
    lines = ["// Made by Traum: unpitched sounds one key each from C1; pitched ones around their root note.",
             "<control>", "default_path=", "", "<global>", "loop_mode=one_shot", ""]
    drums = [path for note, path in regions if midi_of(note) is None]
    pitched = sorted((root, path) for note, path in regions if (root := midi_of(note)) is not None)
    for key, path in enumerate(drums[: 128 - C1], C1):
        lines += ["<region>", f"sample={path}", f"key={key}", ""]
    floor = C1 + len(drums)
    for i, (root, path) in enumerate(pitched):
        low = floor if i == 0 else (pitched[i - 1][0] + root) // 2 + 1
        high = 127 if i == len(pitched) - 1 else (root + pitched[i + 1][0]) // 2
        low = max(floor, min(low, 127))
        high = max(low, high)
        lines += ["<region>", f"sample={path}", f"lokey={low}", f"hikey={high}", f"pitch_keycenter={root}",
                  "loop_mode=no_loop", ""]
    return "\n".join(lines)
