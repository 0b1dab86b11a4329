// The sample map: every sample a point (neighbours sound alike), coloured by category. Wheel to zoom,
// drag to pan, hover to hear the first moments, click to select, shift+drag to lasso a group and add it
// to the collection. The current search's results stand out. Drawn by scatter.js on a Canvas 2D (why
// not WebGL or a library: see there): 100k points pan and zoom smoothly without a GPU, and the page's
// CSP needs no 'unsafe-eval'.
import { api, post } from "./api.js";
import { $, on, state } from "./bus.js";
import { loadCollections } from "./collections.js";
import * as player from "./player.js";
import { selectId } from "./results.js";
import { createScatter } from "./scatter.js";
import { registerView } from "./views.js";

// Hovering plays this much of a sample: enough to know it, short enough to sweep across a cluster.
const HOVER_SECONDS = 1.5;
const HOVER_DELAY_MS = 60;  // a point merely crossed on the way elsewhere stays silent
const POLL_MS = 1000;
const PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
  "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#aaffc3", "#808000", "#ffd8b1",
  "#8fa8ff", "#c0c0c0", "#ff6f91"];

const section = $("map-view");
const canvas = $("map-canvas");
let plot = null;
let data = null;          // the /api/map answer
let indexOf = new Map();  // stem id → point index
let lassoed = [];
let hoverTimer = 0;
let hoverStop = 0;
let loading = null;

registerView("map", { label: "Map", element: section, show, hide: () => player.stop() });
on("results", () => highlight());
on("select", ({ hit }) => { if (plot && hit && indexOf.has(hit.id)) plot.setSelected([indexOf.get(hit.id)]); });

function show() {
  if (!data) loading ||= load().finally(() => { loading = null; });
}

async function load() {
  for (;;) {
    const response = await fetch("/api/map", { credentials: "same-origin" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { info(body.error || response.statusText); return; }
    info(body.message);
    section.dataset.state = body.ready ? "ready" : "laying-out";
    if (body.ready) { draw(body); return; }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function draw(body) {
  data = body;
  indexOf = new Map(body.ids.map((id, i) => [id, i]));
  plot ||= createScatter(canvas, {
    onHover: (i) => (i >= 0 ? hoverStart(i) : clearTimeout(hoverTimer)),
    onClick: (i) => chosen(i >= 0 ? [i] : []),
    onLasso: chosen,
  });
  plot.setPoints(body.x, body.y, body.category, PALETTE);
  highlight();
  legend(body.categories);
  section.dataset.points = String(body.ids.length);
}

// Search results are drawn bright and large, the rest faded; with no results every point is bright.
function highlight() {
  if (!plot || !data) return;
  const shown = state.results.filter((h) => indexOf.has(h.id)).map((h) => indexOf.get(h.id));
  plot.setBright(state.results.length ? shown : null);
  $("map-highlight").textContent = state.results.length ? `${shown.length} of the ${state.results.length} results shown bright` : "";
}

function hitOf(i) {
  const hit = state.results.find((h) => h.id === data.ids[i]);
  return hit || { id: data.ids[i], filename: data.ids[i].slice(0, 12), category: data.categories[data.category[i]] };
}

function hoverStart(i) {
  clearTimeout(hoverTimer);
  hoverTimer = setTimeout(() => {
    const hit = hitOf(i);
    section.dataset.hovered = hit.id;
    clearTimeout(hoverStop);
    player.play(hit, 0);
    hoverStop = setTimeout(() => { if (player.playingId() === hit.id) player.stop(); }, HOVER_SECONDS * 1000);
  }, HOVER_DELAY_MS);
}

async function chosen(points) {
  plot.setSelected(points);
  lassoed = points.map((i) => data.ids[i]);
  section.dataset.selected = lassoed.join(",");
  $("map-add").hidden = lassoed.length < 2;
  $("map-add").textContent = `add ${lassoed.length} to collection`;
  if (points.length !== 1) { info(points.length ? `${points.length} samples selected` : `${data.ids.length} samples`); return; }
  const id = lassoed[0];
  selectId(id);
  clearTimeout(hoverStop);
  player.play(hitOf(points[0]), 0);
  try {
    const stem = await api(`/api/stems/${id}`);
    info(`${stem.filename} · ${stem.category || "unclassified"}${stem.bpm ? ` · ${Math.round(stem.bpm)} BPM` : ""}`);
  } catch (err) { info(err.message); }
}

async function addLassoed() {
  const name = state.collection;
  if (!name) { info("choose or create a collection first (the box on the right)"); return; }
  try {
    for (let i = 0; i < lassoed.length; i += 500) {  // the API takes 500 ids per request
      await post(`/api/collections/${encodeURIComponent(name)}/items`, { ids: lassoed.slice(i, i + 500) });
    }
    info(`added ${lassoed.length} samples to ${name}`);
    await loadCollections(name);
  } catch (err) { info(`not added: ${err.message}`); }
}

function legend(categories) {
  $("map-legend").replaceChildren(...categories.map((c, i) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = PALETTE[i % PALETTE.length];  // CSSOM, which the CSP allows (inline style="" not)
    item.append(swatch, c || "unclassified");
    return item;
  }));
}

const info = (text) => { $("map-info").textContent = text; };

$("map-add").addEventListener("click", addLassoed);
// For the browser test and the curious: the plot and the data behind it.
window.traumMap = { get plot() { return plot; }, get data() { return data; }, palette: PALETTE };
