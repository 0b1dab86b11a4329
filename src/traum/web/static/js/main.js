// Traum page: search as you type, audition with the keyboard, browse, collect, export kits. ES modules,
// no build step, nothing from outside this server.
import { api } from "./api.js";
import { $, on, state } from "./bus.js";
import { add, setupCollections } from "./collections.js";
import { setupFilters } from "./filters.js";
import { HELP, setupKeys } from "./keys.js";
import * as player from "./player.js";
import { setActions } from "./results.js";
import { goBack, more, search, searchSoon, setupContext, similar } from "./search.js";
import { registerView } from "./views.js";

registerView("list", { label: "List", element: $("list-view") });
import("./map.js");
import("./preview.js");  // its own module: a WebGL failure there leaves the list working
setActions({ similar: (hit) => similar(hit), add, more });
setupFilters(search, searchSoon);
setupContext();
setupCollections(search);
setupKeys({ similar: (hit) => similar(hit, state.context?.aspect || "sound"), add, back: goBack });
$("hint").textContent = HELP;
const markLooping = () => $("loop-toggle").setAttribute("aria-pressed", String(player.isLooping()));
$("loop-toggle").addEventListener("click", () => player.setLooping(!player.isLooping()));
on("looping", markLooping);
markLooping();
// A mouse click on a chip, tab or other button does not keep the focus there: space and enter then
// still play the selected result (keyboard users who Tab to a button keep its own keys).
document.addEventListener("mousedown", (e) => { if (e.target.closest("button")) e.preventDefault(); });

api("/api/status").then((s) => {
  const c = s.counts;
  $("status").textContent = `${s.samples} samples · ${c.indexed} indexed · ${c.pending} pending embeddings · ` +
    `${c.failed} failed · model: ${s.model || "none (matching names; similar needs embeddings)"}`;
}).catch((err) => { $("status").textContent = err.message; });
// A link to the page may carry the words: /?q=kick
$("q").value = new URLSearchParams(location.search).get("q") || "";
search();
