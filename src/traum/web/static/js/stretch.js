// The page's own time-stretch and pitch-shift: Signalsmith Stretch (MIT; WASM in an AudioWorklet),
// vendored in static/vendor/signalsmith-stretch/. The player's <audio> element stays the transport
// (position, playhead, seeking): it plays at the time factor with its pitch following the speed, as a
// tape does, and the worklet takes that pitch back and adds the key's shift. A tempo or key change is
// then two numbers set while the sound plays: no render, no request.
import SignalsmithStretch from "../vendor/signalsmith-stretch/SignalsmithStretch.mjs";

// By default the library loads its worklet from a blob: URL, which the page's CSP refuses (script-src
// 'self'); its module is written to be its own worklet script, so it is loaded from this server.
SignalsmithStretch.moduleUrl = new URL("../vendor/signalsmith-stretch/SignalsmithStretch.mjs", import.meta.url).href;

// AudioWorklet needs a secure context (https, or this machine's loopback): a page opened over plain
// http on the LAN falls back to the server's renders.
export const available = () =>
  typeof AudioWorkletNode === "function" && typeof WebAssembly === "object" && window.isSecureContext;

// A plan ({method, time_factor, semitones}, decided by the server: /api/preview) → the element's
// playback rate and the worklet's shift in semitones.
export function settings(plan) {
  if (!plan || plan.method === "none") return { rate: 1, semitones: 0 };
  if (plan.method === "varispeed") return { rate: 2 ** (plan.semitones / 12), semitones: 0 };
  return { rate: plan.time_factor, semitones: plan.semitones - 12 * Math.log2(plan.time_factor) };
}

// A started stretcher on `context`, processing what is connected to its input.
export async function stretcher(context) {
  const node = await SignalsmithStretch(context, { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] });
  await node.start();
  return node;
}

// The file at `url` through the same chain, offline: what the page plays, as samples (tests, measurements).
export async function renderOffline(url, plan, sampleRate = 44100) {
  const data = await (await fetch(url, { credentials: "same-origin" })).arrayBuffer();
  const buffer = await new OfflineAudioContext(2, 1, sampleRate).decodeAudioData(data);
  const { rate, semitones } = settings(plan);
  const frames = Math.ceil((buffer.duration / rate + 1) * sampleRate);  // + 1 s: the worklet's latency and tail
  const context = new OfflineAudioContext(2, frames, sampleRate);
  const node = await stretcher(context);
  await node.schedule({ semitones });
  const latency = await node.latency();
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.playbackRate.value = rate;
  source.connect(node).connect(context.destination);
  source.start(0);
  const rendered = await context.startRendering();
  return { sampleRate, latency, channels: [0, 1].map((c) => rendered.getChannelData(c)) };
}
