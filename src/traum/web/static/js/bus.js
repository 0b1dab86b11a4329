// The page's shared state and its events: the seam other views (the sample map) and audio hooks
// (tempo/key preview) plug into without touching the list.
//
// Events (detail):
//   "results"  {results, total, append, context}  a new page of results (append: "load more")
//   "select"   {index, hit}                       the selected result changed
//   "playing"  {hit} | {hit: null}                playback started / stopped
//   "progress" {hit, fraction, time}              the playhead moved (every animation frame)
//   "marks"    {hit}                              rating, tags or collections of a hit changed
//   "view"     {name}                             the visible view changed ("list", later "map")
export const bus = new EventTarget();
export const on = (name, fn) => bus.addEventListener(name, (e) => fn(e.detail));
export const emit = (name, detail) => bus.dispatchEvent(new CustomEvent(name, { detail }));

export const state = {
  results: [],     // the hits shown, in order
  total: 0,        // results in all (paging)
  selected: -1,    // index into results
  context: null,   // null: a search; {similar: hit, aspect}: similar to hit
  collection: "",  // the collection that "add" puts results into
};

export const $ = (id) => document.getElementById(id);
