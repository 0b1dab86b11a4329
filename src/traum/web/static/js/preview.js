// Previews at the project's tempo and key: a project BPM (typed or tapped) and key; loops then play
// time-stretched to the BPM and pitched sounds shifted to the key (nearest transposition), rendered by
// the server (/api/audio/{id}?bpm=&key=&tempo=, Signalsmith Stretch). A loop detected at half or
// double its tempo is fixed per sample with ½× / 2×. The settings are kept in this browser.
import { audioUrl } from "./api.js";
import { $, on } from "./bus.js";
import * as player from "./player.js";
import { selected } from "./results.js";

const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const TAP_RESET_MS = 2000;
const saved = JSON.parse(localStorage.getItem("traum.project") || "{}");
const fixes = new Map(Object.entries(saved.fixes || {}));  // stem id → "half" | "double"
let taps = [];

const bpmBox = $("project-bpm");
const keyBox = $("project-key");
keyBox.append(...["major", "minor"].flatMap((mode) => NAMES.map((n) => new Option(`${n} ${mode}`, `${n} ${mode}`))));
bpmBox.value = saved.bpm || "";
keyBox.value = saved.key || "";

export function project() {
  const bpm = Number(bpmBox.value);
  return { bpm: bpm >= 20 && bpm <= 300 ? Math.round(bpm * 100) / 100 : null, key: keyBox.value || null };
}

// What the player plays: the file itself, or the matched render when a project tempo or key is set
// (the server answers with the file unchanged when nothing about it needs matching, e.g. a kick).
export function previewUrl(hit) {
  const { bpm, key } = project();
  const params = new URLSearchParams();
  if (bpm) params.set("bpm", String(bpm));
  if (key) params.set("key", key);
  if (bpm && fixes.has(hit.id)) params.set("tempo", fixes.get(hit.id));
  return params.size ? `${audioUrl(hit.id)}?${params}` : audioUrl(hit.id);
}

player.setPreview({ source: previewUrl });

function changed() {
  localStorage.setItem("traum.project", JSON.stringify({ ...project(), fixes: Object.fromEntries(fixes) }));
  const { bpm, key } = project();
  $("project-note").textContent = bpm || key ? `previews at ${[bpm && `${bpm} BPM`, key].filter(Boolean).join(", ")}` : "";
  const hit = selected();
  if (hit && player.playingId() === hit.id) player.play(hit, 0);  // hear the change at once
  markFix();
}

function tap() {
  const now = performance.now();
  if (taps.length && now - taps[taps.length - 1] > TAP_RESET_MS) taps = [];
  taps = [...taps.slice(-7), now];
  if (taps.length < 2) { $("project-note").textContent = "tap again…"; return; }
  const beat = (taps[taps.length - 1] - taps[0]) / (taps.length - 1);
  bpmBox.value = String(Math.round(60000 / beat * 10) / 10);
  changed();
}

function fix(tempo) {
  const hit = selected();
  if (!hit) return;
  if (tempo) fixes.set(hit.id, tempo); else fixes.delete(hit.id);
  changed();
}

function markFix() {
  const hit = selected();
  const current = hit ? fixes.get(hit.id) || "" : "";
  for (const b of document.querySelectorAll("#tempo-fix button")) b.setAttribute("aria-pressed", String(b.dataset.tempo === current));
  $("tempo-fix").hidden = !(hit && hit.bpm);
}

bpmBox.addEventListener("change", changed);
keyBox.addEventListener("change", changed);
$("tap").addEventListener("click", tap);
for (const b of document.querySelectorAll("#tempo-fix button")) b.addEventListener("click", () => fix(b.dataset.tempo));
on("select", markFix);
changed();
