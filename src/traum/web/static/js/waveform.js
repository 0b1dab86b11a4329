// Waveforms drawn from the server's peak envelope, with the played part and a playhead over them.
import { api } from "./api.js";

const POINTS = 200;
const cache = new Map();  // stem id → peaks (the id is the content hash: never stale)

export function waveformBox() {
  const box = document.createElement("div");
  box.className = "wave";
  box.innerHTML = '<canvas width="400" height="64"></canvas><div class="played"></div><div class="playhead"></div>';
  return box;
}

export async function drawWaveform(box, id) {
  const canvas = box.querySelector("canvas");
  try {
    if (!cache.has(id)) cache.set(id, (await api(`/api/waveform/${id}?points=${POINTS}`)).peaks);
    const peaks = cache.get(id), g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    const step = w / peaks.length;
    g.clearRect(0, 0, w, h);
    g.fillStyle = getComputedStyle(box).getPropertyValue("--wave").trim() || "#8fd3ff";
    peaks.forEach((p, i) => { const y = Math.max(1, p * h); g.fillRect(i * step, (h - y) / 2, Math.max(1, step - 1), y); });
    box.classList.add("drawn");
  } catch { box.classList.add("missing"); box.title = "the file is missing or changed: run traum index"; }
}

export function showProgress(box, fraction) {
  const percent = `${Math.min(100, Math.max(0, fraction * 100)).toFixed(2)}%`;
  box.querySelector(".played").style.width = percent;
  const head = box.querySelector(".playhead");
  head.style.left = percent;
  head.dataset.fraction = fraction.toFixed(4);
}

/** The fraction of the file at a click on the waveform. */
export function fractionAt(box, event) {
  const rect = box.getBoundingClientRect();
  return Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
}
