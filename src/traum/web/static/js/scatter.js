// A scatter plot of up to a few hundred thousand points on a Canvas 2D: wheel zooms about the cursor,
// drag pans, hover and click pick the nearest point, shift+drag draws a lasso.
//
// Hand-written rather than a library, because none fits: the scatter libraries on npm that handle
// 100k points draw with WebGL (regl-scatterplot, regl-scatter2d, deck.gl, scatter-gl). Without a GPU
// (this project's CI, many laptops' software fallback) WebGL runs in SwiftShader: 167 ms a frame at
// 100k points, and regl compiles its draw calls with `new Function`, which forces the page's CSP to
// allow 'unsafe-eval'. The canvas charting libraries (Chart.js, nivo, ECharts' canvas path) draw a
// path per point: seconds per frame at 100k. The path here writes each point straight into an
// ImageData buffer (a few ms of typed-array work for 100k points); during a gesture the last crisp
// image is redrawn with one drawImage under the gesture's transform (cheap in software too) and the
// points are drawn crisp again once the gesture settles. Picking uses a uniform grid over the data.

const SETTLE_MS = 140;   // no wheel event for this long: the zoom gesture is over
const PICK_PX = 7;       // a hover or click this close to a point picks it (CSS px)
const CLICK_PX = 4;      // a press that moves less than this is a click, not a pan
const ZOOM = [0.5, 400];
const MARGIN = 0.25;     // the cached image reaches this fraction of the canvas past each edge
const FIT = 0.92;        // the data's extent fills this much of the shorter side at zoom 1
// Gesture frames are drawn crisp only when that is nearly free (a few thousand points). Measured at
// 100k points, 2 cores, software: crisp gesture frames (3.5 ms each) gave a p95 of 33 ms, moving the
// cached image 17 ms.
const CRISP_IN_GESTURE_MS = 2.5;

/** [r, g, b] (0-255) → the little-endian RGBA word an ImageData's Uint32Array view holds. */
const word = ([r, g, b], a = 255) => ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
const mix = (c, d, t) => c.map((v, i) => Math.round(v * t + d[i] * (1 - t)));
const WHITE = new Uint32Array(256).fill(word([255, 255, 255]));  // the selection's ring, whatever the group
export const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

export function createScatter(canvas, { background = [18, 18, 23], onHover, onClick, onLasso } = {}) {
  const ctx = canvas.getContext("2d", { alpha: false });
  const cache = document.createElement("canvas");  // the last crisp image, redrawn during gestures
  const cacheCtx = cache.getContext("2d", { alpha: false });
  let x = new Float32Array(0), y = new Float32Array(0), group = new Uint8Array(0);
  let colours = new Uint32Array(0), dims = colours;  // RGBA words per group: full, and faded to the background
  let bright = null;                   // indices drawn bright and large (search results); null: all bright
  let brightMask = new Uint8Array(0);
  let selected = [];
  let hovered = -1;
  let grid = null;
  let bounds = { cx: 0, cy: 0, half: 1 };
  const view = { k: 1, tx: 0, ty: 0 };  // zoom and pan (CSS px) relative to the fitted layout
  let drawn = null;                     // the view and size the cache was drawn at
  let dirty = true, frame = 0, settleTimer = 0;
  let gesture = null;                   // {kind: "pan"|"lasso", ...} while the pointer is down
  let wheeling = false;
  let image = null, pixels = null;
  let margin = [0, 0];                  // device px the cached image reaches past the canvas's edges
  let renderMs = 0;                     // a crisp frame's cost, smoothed
  const stats = { renders: 0, lastRenderMs: 0, gestureFrames: 0, crispGestureFrames: 0 };

  // -- geometry: data → CSS px of the canvas, and back ----------------------------------------------
  const size = () => ({ w: canvas.clientWidth || 1, h: canvas.clientHeight || 1 });
  const unit = () => { const { w, h } = size(); return (Math.min(w, h) / 2) * FIT / bounds.half; };
  function toScreen(i) {
    const { w, h } = size(), s = unit() * view.k;
    return [w / 2 + view.tx + (x[i] - bounds.cx) * s, h / 2 + view.ty - (y[i] - bounds.cy) * s];
  }
  function toData(sx, sy) {
    const { w, h } = size(), s = unit() * view.k;
    return [(sx - w / 2 - view.tx) / s + bounds.cx, -(sy - h / 2 - view.ty) / s + bounds.cy];
  }

  // -- drawing -------------------------------------------------------------------------------------
  function radius() {  // CSS px: fewer points are drawn larger, and zooming in grows them a little
    const n = x.length;
    const base = n > 50000 ? 1.1 : n > 10000 ? 1.6 : n > 1000 ? 2.4 : 4.5;
    return base * Math.min(2.5, Math.max(1, view.k ** 0.35));
  }

  /** A disc (or a ring when inner > 0) as pixel offsets: in a row-major buffer of width w, and as dx, dy. */
  function stamp(w, outer, inner = 0) {
    const dxs = [], dys = [], r = Math.ceil(outer);
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const d = dx * dx + dy * dy;
        if (d <= outer * outer + 0.5 && (inner <= 0 || d > inner * inner)) { dxs.push(dx); dys.push(dy); }
      }
    }
    return { offsets: Int32Array.from(dxs, (dx, j) => dys[j] * w + dx), dxs, dys, reach: r };
  }

  /** Stamps points (all, or those in indices) in their group's colour; points in skip are left out.
   * One monomorphic loop over typed arrays: this is the few milliseconds a crisp frame costs. */
  function plot(indices, count, palette, skip, { offsets, dxs, dys, reach }, t) {
    const w = image.width, h = image.height, out = pixels, xs = x, ys = y, groups = group;
    const { a, b, s } = t, n = offsets.length;
    for (let j = 0; j < count; j++) {
      const i = indices ? indices[j] : j;
      if (skip && skip[i]) continue;
      const px = Math.floor(a + xs[i] * s + 0.5), py = Math.floor(b - ys[i] * s + 0.5);
      if (px < -reach || py < -reach || px >= w + reach || py >= h + reach) continue;
      const colour = palette[groups[i]];
      if (px >= reach && py >= reach && px < w - reach && py < h - reach) {
        const at = py * w + px;
        for (let o = 0; o < n; o++) out[at + offsets[o]] = colour;
      } else {  // near the edge: only the stamp's pixels inside the buffer
        for (let o = 0; o < n; o++) {
          const qx = px + dxs[o], qy = py + dys[o];
          if (qx >= 0 && qy >= 0 && qx < w && qy < h) out[qy * w + qx] = colour;
        }
      }
    }
  }

  function renderCrisp() {
    const started = performance.now();
    const dpr = window.devicePixelRatio || 1;
    const W = Math.max(1, Math.round(canvas.clientWidth * dpr)), H = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
    // The image reaches past each edge, so a drag or a zoom out shows points there until it settles.
    margin = [Math.round(W * MARGIN), Math.round(H * MARGIN)];
    const [CW, CH] = [W + 2 * margin[0], H + 2 * margin[1]];
    if (cache.width !== CW || cache.height !== CH) { cache.width = CW; cache.height = CH; }
    if (!image || image.width !== CW || image.height !== CH) {
      image = new ImageData(CW, CH);
      pixels = new Uint32Array(image.data.buffer);
    }
    pixels.fill(word(background));
    const s = unit() * view.k * dpr;
    const t = { s, a: margin[0] + dpr * (W / dpr / 2 + view.tx) - bounds.cx * s,
      b: margin[1] + dpr * (H / dpr / 2 + view.ty) + bounds.cy * s };
    const r = radius() * dpr;
    if (bright) {
      plot(null, x.length, dims, brightMask, stamp(CW, r * 0.8), t);
      plot(bright, bright.length, colours, null, stamp(CW, r + 1.2 * dpr), t);
    } else {
      plot(null, x.length, colours, null, stamp(CW, r), t);
    }
    plot(selected, selected.length, WHITE, null, stamp(CW, r + 3 * dpr, r + 1.5 * dpr), t);
    cacheCtx.putImageData(image, 0, 0);
    drawn = { ...view, w: canvas.clientWidth, h: canvas.clientHeight };
    dirty = false;
    stats.renders += 1;
    stats.lastRenderMs = performance.now() - started;
    renderMs = renderMs ? 0.8 * renderMs + 0.2 * stats.lastRenderMs : stats.lastRenderMs;
  }

  /** The cached image under the transform that takes the view it was drawn at to the current one. */
  function present() {
    const dpr = canvas.width / (canvas.clientWidth || 1);
    const a = view.k / drawn.k;
    const { w, h } = size();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (a !== 1 || view.tx !== drawn.tx || view.ty !== drawn.ty) {
      ctx.fillStyle = `rgb(${background.join(",")})`;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.imageSmoothingEnabled = false;  // nearest neighbour: cheapest in software, and only for a moment
      const bx = (w / 2) * (1 - a) - drawn.tx * a + view.tx, by = (h / 2) * (1 - a) - drawn.ty * a + view.ty;
      ctx.setTransform(a, 0, 0, a, bx * dpr, by * dpr);
    }
    ctx.drawImage(cache, -margin[0], -margin[1]);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (hovered >= 0 && !gesture && !wheeling) {
      const [hx, hy] = toScreen(hovered);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(hx, hy, radius() + 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (gesture?.kind === "lasso" && gesture.path.length > 1) {
      ctx.strokeStyle = "rgba(255,255,255,.8)";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      gesture.path.forEach(([px, py], j) => (j ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
      ctx.stroke();
    }
  }

  function redraw() {
    if (!frame) frame = requestAnimationFrame(drawFrame);
  }

  function drawFrame() {
    frame = 0;
    const resized = !drawn || drawn.w !== canvas.clientWidth || drawn.h !== canvas.clientHeight;
    const moved = drawn && (drawn.k !== view.k || drawn.tx !== view.tx || drawn.ty !== view.ty);
    const gesturing = wheeling || gesture?.kind === "pan";
    // While the view moves, crisp frames when they are cheap (a fast machine, or few points on screen),
    // otherwise the last crisp image moved and scaled; crisp again as soon as the gesture settles.
    const crisp = dirty || resized || (moved && (!gesturing || renderMs < CRISP_IN_GESTURE_MS));
    if (gesturing && moved) {
      stats.gestureFrames += 1;
      if (crisp) stats.crispGestureFrames += 1;
    }
    if (crisp) renderCrisp();
    present();
  }

  // -- picking: a uniform grid over the data's bounds ------------------------------------------------
  function buildGrid() {
    const n = x.length;
    const cells = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 4))));
    const x0 = bounds.cx - bounds.half, y0 = bounds.cy - bounds.half, span = (2 * bounds.half) / cells;
    const cellOf = new Int32Array(n), start = new Int32Array(cells * cells + 1);
    for (let i = 0; i < n; i++) {
      const c = Math.min(cells - 1, Math.max(0, Math.floor((x[i] - x0) / span))) +
        cells * Math.min(cells - 1, Math.max(0, Math.floor((y[i] - y0) / span)));
      cellOf[i] = c;
      start[c + 1] += 1;
    }
    for (let c = 0; c < cells * cells; c++) start[c + 1] += start[c];
    const items = new Int32Array(n), fill = start.slice(0, -1);
    for (let i = 0; i < n; i++) items[fill[cellOf[i]]++] = i;
    grid = { cells, x0, y0, span, start, items };
  }

  /** Every point index in the grid cells that overlap the data rectangle. */
  function* candidates(xa, ya, xb, yb) {
    const { cells, x0, y0, span, start, items } = grid;
    const clamp = (v) => Math.min(cells - 1, Math.max(0, Math.floor(v)));
    const [c0, c1, r0, r1] = [clamp((xa - x0) / span), clamp((xb - x0) / span), clamp((ya - y0) / span), clamp((yb - y0) / span)];
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * cells + c;
        for (let j = start[cell]; j < start[cell + 1]; j++) yield items[j];
      }
    }
  }

  /** The point nearest to a CSS pixel of the canvas within PICK_PX, bright points first; -1 if none. */
  function pick(sx, sy) {
    if (!grid || !x.length) return -1;
    const [dx, dy] = toData(sx, sy), reach = PICK_PX / (unit() * view.k);
    let best = -1, bestScore = Infinity;
    for (const i of candidates(dx - reach, dy - reach, dx + reach, dy + reach)) {
      const d = (x[i] - dx) ** 2 + (y[i] - dy) ** 2;
      const score = bright && !brightMask[i] ? d * 4 : d;  // a result beats a dim point a little nearer
      if (d <= reach * reach && score < bestScore) { best = i; bestScore = score; }
    }
    return best;
  }

  function lassoed(path) {
    const poly = path.map(([px, py]) => toData(px, py));
    const xs = poly.map((p) => p[0]), ys = poly.map((p) => p[1]);
    const [xa, xb, ya, yb] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const inside = [];
    for (const i of candidates(xa, ya, xb, yb)) {
      if (x[i] >= xa && x[i] <= xb && y[i] >= ya && y[i] <= yb && inPolygon(x[i], y[i], poly)) inside.push(i);
    }
    return inside.sort((a, b) => a - b);
  }

  // -- input ---------------------------------------------------------------------------------------
  const local = (e) => { const box = canvas.getBoundingClientRect(); return [e.clientX - box.left, e.clientY - box.top]; };

  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [mx, my] = local(e);
    const { w, h } = size();
    const k = Math.min(ZOOM[1], Math.max(ZOOM[0], view.k * Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.002))));
    const a = k / view.k;  // the data point under the cursor stays under it
    view.tx = mx - w / 2 - (mx - w / 2 - view.tx) * a;
    view.ty = my - h / 2 - (my - h / 2 - view.ty) * a;
    view.k = k;
    wheeling = true;
    unhover();
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => { wheeling = false; redraw(); }, SETTLE_MS);
    redraw();
  }, { passive: false });

  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    canvas.setPointerCapture(e.pointerId);
    const at = local(e);
    gesture = e.shiftKey ? { kind: "lasso", path: [at] } : { kind: "pan", from: at, view: { ...view }, far: 0 };
    redraw();
  });

  canvas.addEventListener("pointermove", (e) => {
    const at = local(e);
    if (!gesture) {
      const i = pick(...at);
      if (i !== hovered) {
        hovered = i;
        canvas.style.cursor = i >= 0 ? "pointer" : "";
        redraw();
        onHover?.(i);
      }
      return;
    }
    if (gesture.kind === "lasso") {
      const last = gesture.path[gesture.path.length - 1];
      if (Math.hypot(at[0] - last[0], at[1] - last[1]) >= 2) gesture.path.push(at);
    } else {
      const [dx, dy] = [at[0] - gesture.from[0], at[1] - gesture.from[1]];
      gesture.far = Math.max(gesture.far, Math.hypot(dx, dy));
      if (gesture.far >= CLICK_PX) {
        unhover();
        view.tx = gesture.view.tx + dx;
        view.ty = gesture.view.ty + dy;
        canvas.style.cursor = "grabbing";
      }
    }
    redraw();
  });

  const release = (e) => {
    if (!gesture) return;
    const ended = gesture;
    gesture = null;
    canvas.style.cursor = "";
    if (ended.kind === "lasso") {
      if (ended.path.length > 2) onLasso?.(lassoed(ended.path));
    } else if (ended.far < CLICK_PX && e.type === "pointerup") {
      onClick?.(pick(...local(e)));
    }
    redraw();
  };
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  function unhover() {
    if (hovered < 0) return;
    hovered = -1;
    canvas.style.cursor = "";
    onHover?.(-1);
    redraw();
  }
  canvas.addEventListener("pointerleave", () => { if (!gesture) unhover(); });
  new ResizeObserver(redraw).observe(canvas);

  return {
    /** Points as columns: x, y (any range: the view fits them) and each point's group (colour index). */
    setPoints(xs, ys, groups, palette) {
      x = Float32Array.from(xs);
      y = Float32Array.from(ys);
      group = Uint8Array.from(groups, (g) => g % palette.length);
      colours = Uint32Array.from(palette, (hex) => word(rgb(hex)));
      dims = Uint32Array.from(palette, (hex) => word(mix(rgb(hex), background, 0.35)));
      let [xa, xb, ya, yb] = [Infinity, -Infinity, Infinity, -Infinity];
      for (let i = 0; i < x.length; i++) {
        xa = Math.min(xa, x[i]); xb = Math.max(xb, x[i]); ya = Math.min(ya, y[i]); yb = Math.max(yb, y[i]);
      }
      bounds = x.length ? { cx: (xa + xb) / 2, cy: (ya + yb) / 2, half: Math.max(xb - xa, yb - ya, 1e-9) / 2 } : { cx: 0, cy: 0, half: 1 };
      brightMask = new Uint8Array(x.length);
      bright = null;
      selected = [];
      hovered = -1;
      buildGrid();
      dirty = true;
      redraw();
    },
    /** Points drawn bright and large, the rest faded; null: every point at full colour. */
    setBright(indices) {
      brightMask.fill(0);
      bright = indices ? Int32Array.from(indices) : null;
      if (bright) for (const i of bright) brightMask[i] = 1;
      dirty = true;
      redraw();
    },
    setSelected(indices) { selected = Int32Array.from(indices); dirty = true; redraw(); },
    /** Where a point is, in CSS px from the canvas's top-left corner. */
    getScreenPosition: toScreen,
    get view() { return { ...view }; },
    stats,
  };
}

/** Even-odd rule: does a ray from the point cross the polygon's edges an odd number of times? */
export function inPolygon(px, py, poly) {
  let inside = false;
  for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
    const [xa, ya] = poly[a], [xb, yb] = poly[b];
    if ((ya > py) !== (yb > py) && px < ((xb - xa) * (py - ya)) / (yb - ya) + xa) inside = !inside;
  }
  return inside;
}
