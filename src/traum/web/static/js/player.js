// One audio element for the whole page: play/stop state, the playhead, and the preview hook.
import { audioUrl } from "./api.js";
import { emit, $ } from "./bus.js";

const audio = document.getElementById("player");
let current = null;  // the hit loaded into the audio element
let frame = 0;

// The preview hook: a tempo/key preview module calls setPreview({source, rate}) to play a matched
// version: source(hit) → URL of what to play (default the file), rate(hit) → playbackRate (default 1).
// Either may return undefined to fall back to the default.
const plain = { source: (hit) => audioUrl(hit.id), rate: () => 1 };
let preview = plain;
export function setPreview(hooks) { preview = { ...plain, ...(hooks || {}) }; }

// Loops (a sound with a tempo) repeat while they play, as a producer auditions a groove against the
// next one; one-shots play once. On by default; the choice is kept in this browser.
let looping = localStorage.getItem("traum.loop") !== "off";
const loops = (hit) => looping && hit?.bpm != null;
export const isLooping = () => looping;
export function setLooping(on) {
  looping = on;
  localStorage.setItem("traum.loop", on ? "on" : "off");
  audio.loop = loops(current);
  emit("looping", { on });
}

export const playingId = () => (current && !audio.paused ? current.id : null);
export const element = audio;

export function play(hit, at = 0) {
  const url = preview.source(hit) ?? plain.source(hit);
  if (current?.id !== hit.id || audio.dataset.url !== url) {
    audio.src = url;
    audio.dataset.url = url;
    current = hit;
  }
  audio.loop = loops(hit);
  audio.playbackRate = preview.rate(hit) ?? 1;
  audio.currentTime = at;
  return audio.play().catch((err) => { $("status").textContent = `cannot play ${hit.filename}: ${err.message}`; });
}

export function stop() { audio.pause(); }

export function toggle(hit) {
  if (playingId() === hit.id) stop();
  else play(hit, hit.offset || 0);
}

export function seekBy(seconds) {
  if (current) audio.currentTime = Math.max(0, audio.currentTime + seconds);
}

function tick() {
  if (!current) return;
  const fraction = audio.duration ? audio.currentTime / audio.duration : 0;
  emit("progress", { hit: current, fraction, time: audio.currentTime });
  if (!audio.paused) frame = requestAnimationFrame(tick);
}

audio.addEventListener("playing", () => { emit("playing", { hit: current }); cancelAnimationFrame(frame); tick(); });
audio.addEventListener("pause", () => { emit("playing", { hit: null }); tick(); });
audio.addEventListener("ended", () => { emit("playing", { hit: null }); emit("progress", { hit: current, fraction: 0, time: 0 }); });
