// Views of the results: the list now; a sample map registers itself here (static/js/map.js):
//   registerView("map", {label: "Map", element: <section>, show() {}, hide() {}})
// adds a tab; the "view" event says which one is visible. A view reads the current results from the
// "results" event and selects/plays through results.selectId() and player.play().
import { $, emit } from "./bus.js";

const views = new Map();
let current = "list";

export function registerView(name, view) {
  views.set(name, view);
  // index.html may hold the tab already (the list's does: the header keeps its size while loading).
  let tab = $("tabs").querySelector(`[data-view="${name}"]`);
  if (!tab) {
    tab = Object.assign(document.createElement("button"), { className: "tab", textContent: view.label || name });
    tab.dataset.view = name;
    tab.setAttribute("role", "tab");
    $("tabs").append(tab);
  }
  tab.onclick = () => showView(name);
  view.element.hidden = name !== current;
  markTabs();
}

export function showView(name) {
  if (!views.has(name) || name === current) return;
  views.get(current).hide?.();
  views.get(current).element.hidden = true;
  current = name;
  views.get(name).element.hidden = false;
  views.get(name).show?.();
  markTabs();
  emit("view", { name });
}

function markTabs() {
  for (const tab of $("tabs").children) tab.setAttribute("aria-selected", String(tab.dataset.view === current));
}

export const currentView = () => current;
