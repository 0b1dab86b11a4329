// Traum page: search as you type, audition with the keyboard, browse, collect, export kits. ES modules,
// no build step, nothing from outside this server.
import { api } from "./api.js";
import { $, state } from "./bus.js";
import { add, setupCollections } from "./collections.js";
import { setupFilters } from "./filters.js";
import { HELP, setupKeys } from "./keys.js";
import { setActions } from "./results.js";
import { goBack, more, search, searchSoon, setupContext, similar } from "./search.js";
import { registerView } from "./views.js";

registerView("list", { label: "List", element: $("list-view") });
setActions({ similar: (hit) => similar(hit), add, more });
setupFilters(search, searchSoon);
setupContext();
setupCollections(search);
setupKeys({ similar: (hit) => similar(hit, state.context?.aspect || "sound"), add, back: goBack });
$("hint").textContent = HELP;

api("/api/status").then((s) => {
  const c = s.counts;
  $("status").textContent = `${s.samples} samples · ${c.indexed} indexed · ${c.pending} pending embeddings · ` +
    `${c.failed} failed · model: ${s.model || "none (matching names; similar needs embeddings)"}`;
}).catch((err) => { $("status").textContent = err.message; });
search();
