// Collections: pick or make one, add results to it, list it, export it as a kit (one click or a drag).
import { api, post } from "./api.js";
import { $, emit, state } from "./bus.js";

let refreshList = () => {};

export async function loadCollections(keep = state.collection) {
  try {
    const { collections } = await api("/api/collections");
    const select = $("collection");
    select.replaceChildren(new Option("— choose —", ""), ...collections.map((c) => new Option(`${c.name} (${c.size})`, c.name)));
    select.value = collections.some((c) => c.name === keep) ? keep : "";
    choose(select.value, collections.find((c) => c.name === select.value));
  } catch (err) { $("status").textContent = `collections: ${err.message}`; }
}

function choose(name, info) {
  state.collection = name;
  $("kit-actions").hidden = !name;
  $("collection-size").textContent = name ? `${info?.size ?? 0} sample${info?.size === 1 ? "" : "s"}` : "";
  for (const [id, format] of [["kit-zip", "zip"], ["kit-sfz", "sfz"]]) {
    $(id).href = name ? kitUrl(name, format) : "#";
    $(id).download = `${name}${format === "sfz" ? "-sfz" : ""}.zip`;
  }
}

// At the project's tempo and key when the page has them (state.project, kept by preview.js): the kit
// then sounds as the previews did. Read at click or drag time, so a later change of BPM counts.
function kitUrl(name, format) {
  const params = new URLSearchParams({ format });
  const { bpm, key } = state.project || {};
  if (bpm) params.set("bpm", String(bpm));
  if (key) params.set("key", key);
  return `/api/collections/${encodeURIComponent(name)}/kit?${params}`;
}

export async function create(name) {
  name = name.trim();
  if (!name) return null;
  try {
    const made = await post("/api/collections", { name });
    $("new-collection").value = "";
    await loadCollections(made.name);
    return made.name;
  } catch (err) { $("status").textContent = `collection not made: ${err.message}`; return null; }
}

export async function add(hit) {
  if (!hit) return;
  const name = state.collection || await create($("new-collection").value);
  if (!name) {
    $("status").textContent = "choose or name a collection first (the box on the right), then add";
    $("new-collection").focus();
    return;
  }
  try {
    const updated = await post(`/api/collections/${encodeURIComponent(name)}/items`, { ids: [hit.id] });
    $("status").textContent = `added ${hit.filename} to ${updated.name}`;
    await loadCollections(updated.name);
    emit("marks", { hit });
  } catch (err) { $("status").textContent = `not added: ${err.message}`; }
}

export function setupCollections(onFilterChange) {
  refreshList = onFilterChange;
  $("collection").addEventListener("change", async () => {
    await loadCollections($("collection").value);
    if ($("only-collection").checked) refreshList();
  });
  $("create-collection").addEventListener("click", () => create($("new-collection").value));
  $("new-collection").addEventListener("keydown", (e) => { if (e.key === "Enter") create($("new-collection").value); });
  for (const [id, format] of [["kit-zip", "zip"], ["kit-sfz", "sfz"]]) {
    $(id).addEventListener("click", () => { $(id).href = kitUrl(state.collection, format); });
  }
  $("kit-drag").addEventListener("dragstart", (e) => {
    const url = new URL(kitUrl(state.collection, "zip"), location.href).href;
    e.dataTransfer.setData("DownloadURL", `application/zip:${state.collection}.zip:${url}`);
    e.dataTransfer.setData("text/uri-list", url);
  });
  loadCollections();
}
