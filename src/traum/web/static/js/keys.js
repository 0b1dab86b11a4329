// Keyboard first: every action of a result has a key. Typing in a field is never a shortcut.
import { $, state } from "./bus.js";
import * as player from "./player.js";
import { move, rate, selected } from "./results.js";

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);
export const HELP = "space play/stop · enter play from start · ↑/↓ move · ←/→ seek · s similar · a add to " +
  "collection · l loops repeat on/off · 1–5 rate, 0 clears · / search · esc back";

export function setupKeys({ similar, add, back }) {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const field = e.target;
    if (TYPING.has(field.tagName) || field.isContentEditable) {
      // In the search box only ↓/Enter/Esc leave it for the results (the selection stays); every other
      // key types: a space is a space.
      if (field.id === "q" && (e.key === "ArrowDown" || e.key === "Enter") && state.results.length) {
        e.preventDefault();
        field.blur();
      } else if (e.key === "Escape") field.blur();
      return;
    }
    // A focused button or link (reached with Tab) keeps its own Enter and space.
    if ((e.key === "Enter" || e.key === " ") && field.closest?.("button, a")) return;
    const hit = selected();
    const handled = {
      " ": () => hit && player.toggle(hit),
      Enter: () => hit && player.play(hit, 0),
      ArrowDown: () => move(1),
      ArrowUp: () => move(-1),
      ArrowRight: () => player.seekBy(1),
      ArrowLeft: () => player.seekBy(-1),
      s: () => similar(hit),
      a: () => add(hit),
      l: () => player.setLooping(!player.isLooping()),
      "/": () => $("q").focus(),
      Escape: () => back() || player.stop(),
      Backspace: () => back(),
    }[e.key] || (/^[0-5]$/.test(e.key) && hit ? () => rate(hit, Number(e.key)) : null);
    if (!handled) return;
    e.preventDefault();
    handled();
  });
}
