// Traum page: search as you type, audition with the keyboard, rate, tag, drag out. No build step.
"use strict";
const $ = (id) => document.getElementById(id);
const CATEGORIES = ["kick", "snare", "clap", "hihat", "cymbal", "tom", "percussion", "drum-loop", "bass", "synth",
  "pad", "keys", "guitar", "vocal", "speech", "fx", "synth-fx", "field-recording", "noise"];
const KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"].flatMap(
  (t) => [`${t} major`, `${t} minor`]);
const state = { category: "", results: [], selected: -1, playing: null, seq: 0 };
const player = $("player");

// The server moves ?token= into an HttpOnly cookie with a redirect; should a token still be in the
// address (a proxy that dropped the redirect), keep it out of history and bookmarks anyway.
if (new URLSearchParams(location.search).has("token")) {
  const clean = new URL(location.href);
  clean.searchParams.delete("token");
  history.replaceState(null, "", clean.pathname + clean.search + clean.hash);
}

async function api(path, options) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function params() {
  const p = new URLSearchParams({ q: $("q").value, k: "50" });
  const lo = $("bpm-min").value, hi = $("bpm-max").value;
  if (lo || hi) p.set("bpm", `${lo || 20}-${hi || 300}`);
  if ($("key").value) p.set("key", $("key").value);
  if (state.category) p.set("category", state.category);
  if ($("loops").checked) p.set("loop", "true");
  if ($("quality").value) p.set("quality", $("quality").value);
  return p;
}

let timer = null;
function searchSoon() { clearTimeout(timer); timer = setTimeout(search, 120); }

async function search() {
  const seq = ++state.seq;
  if (!$("q").value.trim() && !state.category && !$("key").value && !$("bpm-min").value && !$("bpm-max").value
      && !$("quality").value) {
    show([]);
    return;
  }
  try {
    const body = await api(`/api/search?${params()}`);
    if (seq === state.seq) show(body.results);
  } catch (err) { $("status").textContent = `search failed: ${err.message}`; }
}

async function similar(id) {
  const body = await api(`/api/similar/${id}`);
  show(body.results);
}

function show(results) {
  state.results = results;
  state.selected = results.length ? 0 : -1;
  const list = $("results");
  list.replaceChildren(...results.map(row));
  results.forEach((r, i) => drawWaveform(r, list.children[i].querySelector("canvas")));
  highlight();
}

function fmt(x, digits = 2) { return x == null ? "" : Number(x).toFixed(digits); }

function row(r, i) {
  const li = document.createElement("li");
  li.dataset.id = r.id;
  li.draggable = true;
  li.innerHTML = `<button class="play" title="play (space)" aria-label="play"></button>
    <div><div class="name"></div><div class="meta"></div></div>
    <canvas width="440" height="72" title="click to seek"></canvas>
    <div class="actions"><span class="stars"></span><input class="tags" placeholder="tags, comma"><button class="similar">similar</button></div>`;
  li.querySelector(".name").textContent = r.filename;
  li.querySelector(".name").title = r.path;
  li.querySelector(".meta").textContent = [`${fmt(r.duration)} s`, r.bpm ? `${fmt(r.bpm, 0)} BPM` : "",
    r.key || "", r.category || "", r.loudness_lufs != null ? `${fmt(r.loudness_lufs, 1)} LUFS` : "",
    r.true_peak_dbfs != null ? `peak ${fmt(r.true_peak_dbfs, 1)} dBTP` : "", quality(r),
    `score ${fmt(r.score, 3)}`, r.offset ? `best at ${fmt(r.offset, 0)} s` : ""]
    .filter(Boolean).join(" · ");
  const issues = r.quality_issues || [];
  if (issues.length) li.querySelector(".meta").title = issues.join("\n");
  li.querySelector(".play").onclick = () => { state.selected = i; toggle(); };
  li.querySelector(".similar").onclick = () => similar(r.id);
  li.querySelector("canvas").onclick = (e) => seekTo(i, e);
  stars(li.querySelector(".stars"), r);
  const tags = li.querySelector(".tags");
  tags.value = (r.user_tags || []).join(", ");
  tags.onchange = () => saveTags(r, tags.value);
  li.addEventListener("dragstart", (e) => {
    const url = new URL(audioUrl(r.id), location.href).href;
    e.dataTransfer.setData("DownloadURL", `${mimeOf(r.filename)}:${r.filename}:${url}`);
    e.dataTransfer.setData("text/uri-list", url);
  });
  li.onclick = (e) => { if (e.target === li) { state.selected = i; highlight(); } };
  return li;
}

function quality(r) {
  if (r.quality_ok == null) return "";
  const issues = r.quality_issues || [];
  return r.quality_ok && !issues.length ? "quality ok" : `⚠ ${issues.join(", ") || "quality issues"}`;
}
function mimeOf(name) { return /\.(ogg)$/i.test(name) ? "audio/ogg" : /\.flac$/i.test(name) ? "audio/flac" : /\.mp3$/i.test(name) ? "audio/mpeg" : "audio/wav"; }
function audioUrl(id) { return `/api/audio/${id}`; }

function stars(el, r) {
  el.replaceChildren();
  for (let n = 1; n <= 5; n++) {
    const b = document.createElement("button");
    b.textContent = "★";
    b.title = `${n} star${n > 1 ? "s" : ""}`;
    b.className = (r.user_rating || 0) >= n ? "on" : "";
    b.onclick = async () => {
      const updated = await api(`/api/stems/${r.id}/rating`, { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rating: n }) });
      r.user_rating = updated.user_rating;
      stars(el, r);
    };
    el.append(b);
  }
}

async function saveTags(r, text) {
  const tags = text.split(",").map((t) => t.trim()).filter(Boolean);
  const updated = await api(`/api/stems/${r.id}/tags`, { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tags }) });
  r.user_tags = updated.user_tags;
}

async function drawWaveform(r, canvas) {
  try {
    const { peaks } = await api(`/api/waveform/${r.id}?points=220`);
    const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, step = w / peaks.length;
    g.fillStyle = "#8fd3ff";
    peaks.forEach((p, i) => { const y = Math.max(1, p * h); g.fillRect(i * step, (h - y) / 2, Math.max(1, step - 1), y); });
  } catch { /* a missing file: leave the waveform empty */ }
}

function highlight() {
  [...$("results").children].forEach((li, i) => li.classList.toggle("sel", i === state.selected));
  $("results").children[state.selected]?.scrollIntoView({ block: "nearest" });
}

function play(i, at = 0) {
  const r = state.results[i];
  if (!r) return;
  if (state.playing !== r.id) { player.src = audioUrl(r.id); state.playing = r.id; }
  player.currentTime = at;
  player.play().catch((err) => { $("status").textContent = `cannot play: ${err.message}`; });
}

function toggle() {
  const r = state.results[state.selected];
  if (!r) return;
  if (state.playing === r.id && !player.paused) { player.pause(); return; }
  play(state.selected, r.offset || 0);
  highlight();
}

function seekTo(i, event) {
  const r = state.results[i];
  const box = event.target.getBoundingClientRect();
  state.selected = i;
  highlight();
  play(i, Math.max(0, (event.clientX - box.left) / box.width) * (r.duration || 0));
}

document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" && e.target.id !== "q" || e.target.tagName === "SELECT") return;
  if (e.key === " " && (e.target.id !== "q" || state.results.length)) { e.preventDefault(); toggle(); }
  else if (e.key === "ArrowDown") { e.preventDefault(); state.selected = Math.min(state.results.length - 1, state.selected + 1); highlight(); if (!player.paused) play(state.selected); }
  else if (e.key === "ArrowUp") { e.preventDefault(); state.selected = Math.max(0, state.selected - 1); highlight(); if (!player.paused) play(state.selected); }
  else if (e.key === "ArrowRight" && e.target.id !== "q") { player.currentTime += 1; }
  else if (e.key === "ArrowLeft" && e.target.id !== "q") { player.currentTime = Math.max(0, player.currentTime - 1); }
});

function setup() {
  $("chips").replaceChildren(...CATEGORIES.map((c) => {
    const b = document.createElement("button");
    b.className = "chip";
    b.textContent = c;
    b.onclick = () => { state.category = state.category === c ? "" : c; [...$("chips").children].forEach((x) => x.classList.toggle("on", x.textContent === state.category)); search(); };
    return b;
  }));
  $("key").append(...KEYS.map((k) => Object.assign(document.createElement("option"), { value: k, textContent: k })));
  $("q").addEventListener("input", searchSoon);
  for (const id of ["bpm-min", "bpm-max", "key", "loops", "quality"]) $(id).addEventListener("change", search);
  api("/api/status").then((s) => {
    const c = s.counts;
    $("status").textContent = `${s.samples} samples · ${c.indexed} indexed · ${c.pending} pending embeddings · ` +
      `${c.failed} failed · model: ${s.model || "none (matching names)"}`;
  }).catch((err) => { $("status").textContent = err.message; });
}
setup();
