// Searching, paging, and "similar to" with a way back.
import { api } from "./api.js";
import { $, state } from "./bus.js";
import { folderOf, SORT_NAMES } from "./format.js";
import { PAGE, params, showSort } from "./filters.js";
import { render, select } from "./results.js";

let seq = 0;
let timer = null;
const back = [];  // what the list showed before each "similar": {results, total, selected, context, scroll}
export const ASPECTS = { sound: "by sound", bpm: "same tempo", key: "same key", category: "same category" };

export function searchSoon() { clearTimeout(timer); timer = setTimeout(() => search(), 150); }

export async function search() {
  const mine = ++seq;
  if (state.context) { back.length = 0; state.context = null; }
  try {
    const body = await api(`/api/search?${params()}`);
    if (mine !== seq) return;
    showSort(body.sort, body.descending);
    summary(body);
    render({ results: body.results, total: body.total, why: body.why_empty });
  } catch (err) {
    if (mine === seq) { $("summary-text").textContent = `search failed: ${err.message}`; }
  }
}

export async function more() {
  const mine = ++seq;
  const offset = state.results.length;
  const url = state.context
    ? `/api/similar/${state.context.similar.id}?k=${PAGE}&offset=${offset}&aspect=${state.context.aspect}`
    : `/api/search?${params(offset)}`;
  try {
    const body = await api(url);
    if (mine === seq) render({ results: body.results, total: body.total, append: true });
  } catch (err) { $("status").textContent = `more results failed: ${err.message}`; }
}

export async function similar(hit, aspect = "sound") {
  if (!hit) return;
  clearTimeout(timer);  // a search still waiting for the typing to pause would replace the similar list
  const mine = ++seq;
  if (!state.context || state.context.similar.id !== hit.id) {
    back.push({ results: state.results, total: state.total, selected: state.selected, context: state.context,
      scroll: $("results").scrollTop, summary: $("summary-text").textContent });
  }
  state.context = { similar: hit, aspect };
  context(hit, aspect, "searching…");
  try {
    const body = await api(`/api/similar/${hit.id}?k=${PAGE}&aspect=${aspect}`);
    if (mine !== seq) return;
    context(hit, aspect, `${body.total} result${body.total === 1 ? "" : "s"}`);
    render({ results: body.results, total: body.total, why: body.why_empty });
  } catch (err) {
    if (mine !== seq) return;
    // Say why, keep the way back: no model, no embedding yet, a one-shot asked for by tempo…
    context(hit, aspect, err.message, true);
    render({ results: [], total: 0, why: [] });
  }
}

export function goBack() {
  const saved = back.pop();
  if (!saved) return false;
  ++seq;
  state.context = saved.context;
  $("context").hidden = !saved.context;
  if (saved.context) context(saved.context.similar, saved.context.aspect, "");
  $("summary-text").textContent = saved.summary;
  render({ results: saved.results, total: saved.total, why: [] });
  select(saved.selected);
  $("results").scrollTop = saved.scroll;
  return true;
}

function context(hit, aspect, note, failed = false) {
  $("context").hidden = false;
  $("context-name").textContent = hit.filename;
  $("context-folder").textContent = folderOf(hit.path);
  $("context-note").textContent = note;
  $("context-note").classList.toggle("error", failed);
  for (const b of $("aspects").children) {
    b.classList.toggle("on", b.dataset.aspect === aspect);
    b.setAttribute("aria-pressed", String(b.dataset.aspect === aspect));
  }
  $("summary-text").textContent = `similar to ${hit.filename}, ${ASPECTS[aspect]}`;
}

function summary(body) {
  $("context").hidden = true;
  const n = body.total, shown = Math.min(n, body.results.length);
  const only = $("only-collection").checked && state.collection;
  const mode = body.query.mode === "list" ? `in ${only ? `collection ${only}` : "the library"}`
    : body.query.mode === "names" ? "matching names" : "found";
  $("summary-text").textContent = n
    ? `${n} ${mode} · showing ${shown ? `1–${shown}` : "none"} · sorted by ${SORT_NAMES[body.sort] || body.sort}`
    : "no results";
  if (body.notice) $("status").textContent = body.notice;
}

export function setupContext() {
  $("aspects").replaceChildren(...Object.entries(ASPECTS).map(([aspect, text]) => {
    const b = document.createElement("button");
    b.className = "chip";
    b.dataset.aspect = aspect;
    b.textContent = text;
    b.onclick = () => similar(state.context?.similar, aspect);
    return b;
  }));
  $("back").addEventListener("click", goBack);
}
