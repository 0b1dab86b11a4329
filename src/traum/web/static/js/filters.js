// The search box and the filters: what they ask of /api/search.
import { $, state } from "./bus.js";
import { SORT_NAMES } from "./format.js";

const KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"].flatMap(
  (t) => [`${t} major`, `${t} minor`]);
const chosen = { category: "", loop: "", quality: "" };

/** Results per page: 50, or ?n= in the address (a long list on a big screen, a short one in tests). */
export const PAGE = Math.max(1, Math.min(500, Number(new URLSearchParams(location.search).get("n")) || 50));

export function params(offset = 0) {
  const p = new URLSearchParams({ q: $("q").value, k: String(PAGE), offset: String(offset) });
  const lo = $("bpm-min").value, hi = $("bpm-max").value;
  if (lo || hi) p.set("bpm", `${lo || 20}-${hi || 300}`);
  if ($("key").value) p.set("key", $("key").value);
  if (chosen.category) p.set("category", chosen.category);
  if (chosen.loop) p.set("loop", chosen.loop);
  if (chosen.quality) p.set("quality", chosen.quality);
  if ($("only-collection").checked && state.collection) p.set("collection", state.collection);
  if ($("sort").value) p.set("sort", $("sort").value);
  if ($("sort-dir").dataset.dir) p.set("desc", String($("sort-dir").dataset.dir === "desc"));
  return p;
}

/** Chip buttons toggle one value of a field; index.html has them already (no layout shift). */
function chips(container, field) {
  for (const b of container.children) {
    const v = b.dataset.value;
    b.onclick = () => {
      chosen[field] = chosen[field] === v ? "" : v;
      [...container.children].forEach((x) => {
        x.classList.toggle("on", x.dataset.value === chosen[field]);
        x.setAttribute("aria-pressed", String(x.dataset.value === chosen[field]));
      });
      onChange();
    };
  }
}

let onChange = () => {};

/** Build the controls; ``changed`` runs on any change, ``typed`` on each keystroke in the box. */
export function setupFilters(changed, typed) {
  onChange = changed;
  chips($("chips"), "category");
  chips($("type-chips"), "loop");
  chips($("quality-chips"), "quality");
  $("key").append(...KEYS.map((k) => Object.assign(document.createElement("option"), { value: k, textContent: k })));
  $("sort").append(...Object.entries(SORT_NAMES).map(([value, text]) =>
    Object.assign(document.createElement("option"), { value, textContent: text })));
  $("sort").value = "";
  $("q").addEventListener("input", typed);
  for (const id of ["bpm-min", "bpm-max", "key", "sort", "only-collection"]) $(id).addEventListener("change", changed);
  $("sort-dir").addEventListener("click", () => {
    const dir = $("sort-dir");
    dir.dataset.dir = dir.dataset.dir === "desc" ? "asc" : "desc";
    dir.textContent = dir.dataset.dir === "desc" ? "↓" : "↑";
    changed();
  });
}

/** After a search: show the sort and direction the server used. */
export function showSort(sort, descending) {
  if (!$("sort").value) $("sort").options[0].textContent = `sort: ${SORT_NAMES[sort] || sort}`;
  if (!$("sort-dir").dataset.dir) $("sort-dir").textContent = descending ? "↓" : "↑";
}
