// The sample map: every sample a point (neighbours sound alike), coloured by category. Wheel to zoom,
// drag to pan, hover to hear the first moments, click to select, shift+drag to lasso a group and add it
// to the collection. The current search's results stand out. Drawn with regl-scatterplot (WebGL; MIT,
// vendored under static/vendor/regl-scatterplot/): 100k points pan and zoom at the display's rate.
import { api, post } from "./api.js";
import { $, on, state } from "./bus.js";
import { loadCollections } from "./collections.js";
import * as player from "./player.js";
import { selectId } from "./results.js";
import { registerView } from "./views.js";
import { createScatterplot } from "../vendor/regl-scatterplot/regl-scatterplot.js";

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
on("results", ({ results }) => highlight(results));
on("select", ({ hit }) => { if (plot && hit && indexOf.has(hit.id)) plot.select([indexOf.get(hit.id)], { preventEvent: true }); });

function show() {
  if (!data) loading ||= load().finally(() => { loading = null; });
  else resize();
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
  if (!plot) plot = makePlot(body.ids.length);
  plot.set({ pointColor: PALETTE });
  const z = body.category.map((c) => c % PALETTE.length);
  return plot.draw({ x: body.x, y: body.y, z, w: weights() }).then(() => {
    legend(body.categories);
    section.dataset.points = String(body.ids.length);
  });
}

// Beyond this many points the plot draws squares without blending (regl-scatterplot's performance
// mode): a large library pans smoothly on a weak GPU, and without one (software WebGL).
const MANY_POINTS = 50000;

function makePlot(points) {
  const { width, height } = canvas.getBoundingClientRect();
  const p = createScatterplot({
    performanceMode: points > MANY_POINTS,
    canvas, width, height, pointSizeSelected: 4, pointOutlineWidth: 2,
    backgroundColor: [0.07, 0.07, 0.09, 1], colorBy: "valueA", opacityBy: "valueB", opacity: [0.35, 1],
    sizeBy: "valueB", pointSize: [3, 7], lassoColor: [1, 1, 1, 0.8],
    // The spatial index stays on the page's thread: a worker would run from a blob: URL, which the
    // Content-Security-Policy (default-src 'self') rightly refuses.
    spatialIndexUseWorker: false,
  });
  p.subscribe("pointover", hoverStart);
  p.subscribe("pointout", () => clearTimeout(hoverTimer));
  p.subscribe("select", ({ points }) => chosen(points));
  p.subscribe("deselect", () => chosen([]));
  new ResizeObserver(resize).observe(canvas);
  return p;
}

function resize() {
  if (!plot) return;
  const { width, height } = canvas.getBoundingClientRect();
  if (width && height) plot.set({ width, height });
}

// Search results weigh 1 (bright and large), the rest 0; with no results every point weighs 1.
function weights() {
  const n = data.ids.length;
  const w = new Float32Array(n).fill(state.results.length ? 0 : 1);
  for (const hit of state.results) if (indexOf.has(hit.id)) w[indexOf.get(hit.id)] = 1;
  return Array.from(w);
}

function highlight() {
  if (!plot || !data) return;
  const z = data.category.map((c) => c % PALETTE.length);
  plot.draw({ x: data.x, y: data.y, z, w: weights() }, { preventFilterReset: true });
  const shown = state.results.filter((h) => indexOf.has(h.id)).length;
  $("map-highlight").textContent = state.results.length ? `${shown} of the ${state.results.length} results shown bright` : "";
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
window.traumMap = { get plot() { return plot; }, get data() { return data; } };
