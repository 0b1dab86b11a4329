// The result list: rows, selection, play state and playhead, paging, and the empty message.
import { audioUrl, post } from "./api.js";
import { $, emit, on, state } from "./bus.js";
import { facts, folderOf, mimeOf } from "./format.js";
import * as player from "./player.js";
import { drawWaveform, fractionAt, showProgress, waveformBox } from "./waveform.js";

// Set by main.js: what "similar", "add to collection" and "load more" do.
const actions = { similar: () => {}, add: () => {}, more: () => {} };
export function setActions(a) { Object.assign(actions, a); }

const list = () => $("results");
const rowOf = (hit) => list().querySelector(`li[data-id="${CSS.escape(hit.id)}"]`);

/** Show a page of results; append keeps the rows already shown ("load more"). */
export function render({ results, total, append = false, why = [] }) {
  const start = append ? state.results.length : 0;
  state.results = append ? state.results.concat(results) : results;
  state.total = total;
  const rows = results.map((r, i) => row(r, start + i));
  if (append) list().append(...rows); else list().replaceChildren(...rows);
  rows.forEach((li, i) => drawWaveform(li.querySelector(".wave"), results[i].id));
  if (!append) select(state.results.length ? 0 : -1, { scroll: false });
  empty(state.results.length ? null : why);
  const more = $("more");
  more.hidden = state.results.length >= total;
  more.textContent = `Load more (${state.results.length} of ${total} shown)`;
  emit("results", { results: state.results, total, append, context: state.context });
}

function empty(why) {
  const box = $("empty");
  box.hidden = why === null;
  if (why === null) return;
  const items = why.map((w) => {
    const li = document.createElement("li");
    li.textContent = w.filter === "words"
      ? `the words “${w.value}” match none of the samples the other conditions let through`
      : `${w.filter} ${w.value}: ${w.matching} sample${w.matching === 1 ? "" : "s"} on ${w.matching === 1 ? "its" : "their"} own`;
    li.classList.toggle("culprit", w.matching === 0);
    return li;
  });
  $("why").replaceChildren(...items);
  $("empty-title").textContent = why.length ? "No results. What each condition lets through:" : "No results.";
}

function row(r, i) {
  const li = document.createElement("li");
  li.className = "hit";
  li.dataset.id = r.id;
  li.draggable = true;
  li.innerHTML = `<button class="play" aria-label="play" title="play / stop (space)"></button>
    <div class="info"><div class="name"></div>
      <div class="where"><span class="folder"></span><span class="path" hidden></span></div>
      <div class="meta"></div></div>
    <div class="actions"><span class="stars" role="group" aria-label="rating (1–5, 0 clears)"></span>
      <input class="tags" placeholder="tags, comma" aria-label="tags">
      <button class="similar" title="similar sounds (s)">≈ similar</button>
      <button class="add" title="add to the collection (a)">+ add</button>
      <button class="reveal" title="show the full path">path</button>
      <button class="copy" title="copy the full path">copy</button></div>`;
  li.querySelector(".info").after(waveformBox());
  li.querySelector(".name").textContent = r.filename;
  li.querySelector(".folder").textContent = folderOf(r.path) || "/";
  li.querySelector(".path").textContent = r.path;
  li.querySelector(".where").title = r.path;
  li.querySelector(".meta").textContent = facts(r);
  if ((r.quality_issues || []).length) li.querySelector(".meta").title = r.quality_issues.join("\n");
  li.querySelector(".play").onclick = () => { select(i); player.toggle(r); };
  li.querySelector(".similar").onclick = () => actions.similar(r);
  li.querySelector(".add").onclick = () => actions.add(r);
  li.querySelector(".reveal").onclick = () => reveal(li);
  li.querySelector(".copy").onclick = () => copyPath(r);
  li.querySelector(".wave").onclick = (e) => {
    select(i);
    player.play(r, fractionAt(e.currentTarget, e) * (r.duration || 0));
  };
  stars(li.querySelector(".stars"), r);
  const tags = li.querySelector(".tags");
  tags.value = (r.user_tags || []).join(", ");
  tags.onchange = () => saveTags(r, tags.value);
  li.addEventListener("dragstart", (e) => {
    const url = new URL(audioUrl(r.id), location.href).href;
    e.dataTransfer.setData("DownloadURL", `${mimeOf(r.filename)}:${r.filename}:${url}`);
    e.dataTransfer.setData("text/uri-list", url);
  });
  li.addEventListener("click", (e) => { if (!e.target.closest("button, input")) select(i); });
  if (player.playingId() === r.id) li.classList.add("playing");
  return li;
}

/** Show the full path in place of the folder (same height: nothing below moves). */
export function reveal(li) {
  const path = li.querySelector(".path"), folder = li.querySelector(".folder");
  path.hidden = !path.hidden;
  folder.hidden = !path.hidden;
  li.querySelector(".reveal").classList.toggle("on", !path.hidden);
}

export async function copyPath(r) {
  try {
    await navigator.clipboard.writeText(r.path);
  } catch {
    // No clipboard permission (an embedded browser): fall back to a selected text field.
    const field = Object.assign(document.createElement("textarea"), { value: r.path });
    document.body.append(field);
    field.select();
    document.execCommand("copy");
    field.remove();
  }
  $("status").textContent = `copied ${r.path}`;
}

export function stars(el, r) {
  el.replaceChildren();
  for (let n = 1; n <= 5; n++) {
    const b = document.createElement("button");
    b.textContent = "★";
    b.title = `${n} star${n > 1 ? "s" : ""} (${n})`;
    b.className = (r.user_rating || 0) >= n ? "on" : "";
    b.onclick = () => rate(r, r.user_rating === n ? 0 : n);
    el.append(b);
  }
}

export async function rate(r, n) {
  try {
    const updated = await post(`/api/stems/${r.id}/rating`, { rating: n });
    r.user_rating = updated.user_rating;
    const li = rowOf(r);
    if (li) stars(li.querySelector(".stars"), r);
    emit("marks", { hit: r });
  } catch (err) { $("status").textContent = `rating not saved: ${err.message}`; }
}

async function saveTags(r, text) {
  const tags = text.split(",").map((t) => t.trim()).filter(Boolean);
  try {
    r.user_tags = (await post(`/api/stems/${r.id}/tags`, { tags })).user_tags;
    emit("marks", { hit: r });
  } catch (err) { $("status").textContent = `tags not saved: ${err.message}`; }
}

export function selected() { return state.results[state.selected] || null; }

export function select(i, { scroll = true } = {}) {
  const rows = list().children;
  rows[state.selected]?.classList.remove("sel");
  state.selected = i;
  const li = rows[i];
  if (!li) return;
  li.classList.add("sel");
  if (scroll) li.scrollIntoView({ block: "nearest" });
  emit("select", { index: i, hit: state.results[i] });
}

/** Select a result by id (for other views: a click on the map). */
export function selectId(id) {
  const i = state.results.findIndex((r) => r.id === id);
  if (i >= 0) select(i);
  return i;
}

export function move(delta) {
  if (!state.results.length) return;
  select(Math.max(0, Math.min(state.results.length - 1, state.selected + delta)));
  if (player.playingId()) player.play(selected(), selected().offset || 0);
}

on("playing", ({ hit }) => {
  list().querySelectorAll("li.playing").forEach((li) => {
    li.classList.remove("playing");
    li.querySelector(".play").setAttribute("aria-label", "play");
  });
  const li = hit && rowOf(hit);
  if (li) { li.classList.add("playing"); li.querySelector(".play").setAttribute("aria-label", "stop"); }
});

on("progress", ({ hit, fraction }) => {
  const li = hit && rowOf(hit);
  if (li) showProgress(li.querySelector(".wave"), fraction);
});

$("more").addEventListener("click", () => actions.more());
// A click on a row's button must not leave the focus on it (space would then press it again) nor in the
// search box (space would type): the keys go to the results.
list().addEventListener("mousedown", (e) => {
  if (!e.target.closest("button, .wave")) return;
  e.preventDefault();
  document.activeElement?.blur();
});
