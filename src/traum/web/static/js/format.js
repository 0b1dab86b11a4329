// How facts read in a result row.
export function fmt(x, digits = 2) { return x == null ? "" : Number(x).toFixed(digits); }

/** "pack/folder" of a path: the two folders above the file, enough to tell 000_0.wav from 000_0.wav. */
export function folderOf(path) {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.slice(Math.max(0, parts.length - 3), -1).join("/");
}

export function quality(r) {
  if (r.quality_ok == null) return "";
  const issues = r.quality_issues || [];
  return r.quality_ok && !issues.length ? "quality ok" : `⚠ ${issues.join(", ") || "quality issues"}`;
}

export function facts(r) {
  return [r.duration != null ? `${fmt(r.duration)} s` : "", r.bpm ? `${fmt(r.bpm, 0)} BPM` : "one-shot",
    r.key || "", r.category || "", r.loudness_lufs != null ? `${fmt(r.loudness_lufs, 1)} LUFS` : "",
    r.true_peak_dbfs != null ? `peak ${fmt(r.true_peak_dbfs, 1)} dBTP` : "", quality(r),
    r.offset ? `best at ${fmt(r.offset, 0)} s` : ""].filter(Boolean).join(" · ");
}

export function mimeOf(name) {
  return /\.ogg$/i.test(name) ? "audio/ogg" : /\.flac$/i.test(name) ? "audio/flac"
    : /\.mp3$/i.test(name) ? "audio/mpeg" : /\.aiff?$/i.test(name) ? "audio/aiff" : "audio/wav";
}

export const SORT_NAMES = { relevance: "relevance", name: "name", duration: "duration", bpm: "BPM", key: "key",
  loudness: "loudness", rating: "rating", added: "recently added" };
