// Previews at the project's tempo and key: a project BPM (typed or tapped) and key; loops then play
// time-stretched to the BPM and pitched sounds shifted to the key (nearest transposition). The page
// stretches them itself (stretch.js: Signalsmith Stretch in an AudioWorklet), so a change of BPM or key
// is heard at once while the sound plays; the server decides how (/api/preview/{id}: the loop's true
// tempo and, per key, method and shift, the same decisions as its renders). Without AudioWorklet or
// WASM the page plays the server's render instead (/api/audio/{id}?bpm=&key=&tempo=). A loop detected
// at half or double its tempo is fixed per sample with ½× / 2×. The settings are kept in this browser.
import { api, audioUrl } from "./api.js";
import { $, on, state } from "./bus.js";
import * as player from "./player.js";
import { selected } from "./results.js";
import * as stretch from "./stretch.js";

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

// The server's render of the matched version (the fallback, and what drag-to-DAW and downloads use).
export function previewUrl(hit) {
  const { bpm, key } = project();
  const params = new URLSearchParams();
  if (bpm) params.set("bpm", String(bpm));
  if (key) params.set("key", key);
  if (bpm && fixes.has(hit.id)) params.set("tempo", fixes.get(hit.id));
  return params.size ? `${audioUrl(hit.id)}?${params}` : audioUrl(hit.id);
}

// --- the page's own stretcher -------------------------------------------------------------------
// live: {context, node, source, through} once the element plays through Web Audio; mode: "live" while
// the stretcher works (or may), "server" once it cannot (no AudioWorklet, WASM refused, a failure).
export let live = null;
export let mode = stretch.available() ? "live" : "server";
// Measured (ms): ready, building the stretcher (worklet module, WASM); change, the last change of BPM or
// key until the worklet had it.
export const timings = {};
let building = null;
let current = null;  // the hit last handed to the player
const matchings = new Map();  // "id tempo-fix" → Promise of /api/preview's answer
const known = new Map();      // the same, once answered

function chain() {
  if (live || mode !== "live") return Promise.resolve(live);
  building ||= (async () => {
    const started = performance.now();
    const context = new AudioContext({ latencyHint: "interactive" });
    const node = await stretch.stretcher(context);
    const source = context.createMediaElementSource(player.element);  // from here on, the element plays through it
    player.element.preservesPitch = false;  // the element varispeeds; the worklet corrects the pitch
    player.element.addEventListener("play", () => context.resume());
    node.connect(context.destination);
    live = { context, node, source, through: null };
    route(false);
    timings.ready = performance.now() - started;
    return live;
  })().catch((err) => {
    mode = "server";
    console.warn("in-page stretching unavailable, the server renders previews:", err);
    return null;
  });
  return building;
}

// Through the stretcher only when it has something to do: it delays the sound by its latency (~120 ms).
function route(through) {
  if (live.through === through) return;
  const { source, node, context } = live;
  if (live.through !== null) source.disconnect(live.through ? node : context.destination);
  source.connect(through ? node : context.destination);
  live.through = through;
}

function matchingKey(hit) { return `${hit.id} ${fixes.get(hit.id) || ""}`; }

function matching(hit) {
  const k = matchingKey(hit);
  if (!matchings.has(k)) {
    const tempo = fixes.get(hit.id);
    matchings.set(k, api(`/api/preview/${hit.id}${tempo ? `?tempo=${tempo}` : ""}`)
      .then((m) => { known.set(k, m); return m; }).catch(() => null));
  }
  return matchings.get(k);
}

// The server's plan for this project, from its answer (null: a stretch beyond what Traum allows).
export function planOf(m, { bpm, key }) {
  const shift = (key && m.keys[key]) || { method: "none", semitones: 0 };
  if (bpm && m.bpm) {
    const factor = bpm / m.bpm;
    if (factor < m.min_factor || factor > m.max_factor) return null;
    return { method: "stretch", time_factor: factor, semitones: shift.semitones };
  }
  return { ...shift, time_factor: 1 };
}

const wanted = () => { const { bpm, key } = project(); return Boolean(bpm || key); };
const liveFor = (hit) => mode === "live" && (live || wanted()) && !(known.has(matchingKey(hit)) &&
  wanted() && planOf(known.get(matchingKey(hit)), project()) === null);

// Set the element's rate and the worklet's shift for `hit`; resolves once the worklet has them.
async function apply(hit) {
  if (!hit || !liveFor(hit)) return;
  const [m, ready] = await Promise.all([matching(hit), chain()]);
  if (!m || !ready || current?.id !== hit.id) return;
  const plan = wanted() ? planOf(m, project()) : { method: "none" };
  const { rate, semitones } = stretch.settings(plan);
  player.element.playbackRate = rate;
  route(Math.abs(semitones) > 1e-6);
  await live.node.schedule({ semitones });
}

player.setPreview({
  source(hit) {
    current = hit;
    return liveFor(hit) ? audioUrl(hit.id) : previewUrl(hit);
  },
  rate(hit) {
    apply(hit);
    const m = known.get(matchingKey(hit));
    return m && liveFor(hit) && wanted() ? stretch.settings(planOf(m, project())).rate : 1;
  },
});

// --- the project bar ----------------------------------------------------------------------------
async function changed() {
  const started = performance.now();
  localStorage.setItem("traum.project", JSON.stringify({ ...project(), fixes: Object.fromEntries(fixes) }));
  state.project = project();  // kit exports render at it too
  const { bpm, key } = project();
  $("project-note").textContent = bpm || key ? `previews at ${[bpm && `${bpm} BPM`, key].filter(Boolean).join(", ")}` : "";
  markFix();
  if (wanted()) chain();
  const hit = selected();
  if (hit) matching(hit);  // ready before the play
  if (!current || player.playingId() !== current.id) return;
  if (liveFor(current)) {  // hear the change at once, where the sound is
    await apply(current);
    timings.change = performance.now() - started;
  } else {
    player.play(current, 0);
  }
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
  const fixed = hit ? fixes.get(hit.id) || "" : "";
  for (const b of document.querySelectorAll("#tempo-fix button")) b.setAttribute("aria-pressed", String(b.dataset.tempo === fixed));
  $("tempo-fix").hidden = !(hit && hit.bpm);
}

bpmBox.addEventListener("change", changed);
keyBox.addEventListener("change", changed);
$("tap").addEventListener("click", tap);
for (const b of document.querySelectorAll("#tempo-fix button")) b.addEventListener("click", () => fix(b.dataset.tempo));
on("select", ({ hit }) => { markFix(); if (hit && wanted()) matching(hit); });
changed();
