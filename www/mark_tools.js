// Articular surfaces (top of the Print panel): mark the joint surfaces of the selected
// part or mesh object, which printing keeps facing up and free of supports. "Suggest joint
// surfaces" marks the faces that look at a neighbouring bone across a joint gap; the brush
// (Mark / Erase, radius in mm) paints or unpaints faces by dragging over the selection in
// the 3-D view; Clear removes them. Each stroke or action is one design op ('markop'), so
// marks are in the op log, the link, undo/redo and `osteon replay`. The worker sends the
// marked faces of every marked surface ('marks'); they are drawn as the viewer's overlays
// (magenta, over the surfaces they belong to), so a stroke re-sends only the marks, never
// the parts (whose picking would have to be rebuilt).
//
// While a brush is on, a left drag on the 3-D view paints instead of rotating: the events
// are taken in the capture phase on the view's container, before the app's rotate/pick
// handlers see them. A right drag or an Alt+drag still rotates, the wheel zooms; Esc or a
// second click on the button turns the brush off. A ring under the mouse shows the brush
// on the surface (its radius in mm, in the tangent plane of the face under the mouse),
// drawn on a 2-D layer from the page's own pick: no worker round trip.
//
// A stroke is a polyline: its points are joined by segments the brush sweeps along (the
// op's `runs`), so a fast drag marks a continuous band. Where two picks lie more than a
// radius apart the page picks points in between on the screen, so the stroke follows the
// surface rather than cutting a chord through the bone; a stretch off the selection ends
// a run, and the next point on it starts a new one.

const $ = (id) => document.getElementById(id);
const fmt = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
/** Colour of marked faces, a vivid magenta unlike every part colour (the worker's print view uses the same). */
export const MARK_COLOUR = [255, 0, 255];
/** Points kept per stroke (each is a pick in the 3-D view). */
const MAX_STROKE_POINTS = 400;
/** Stroke points closer than this share of the radius to the last one are dropped (the segments sweep between). */
const MIN_SPACING = 0.5;
/** Most picks made in between two stroke points that lie far apart. */
const MAX_FILL = 24;
/** Points on the brush ring. */
const RING_POINTS = 48;
const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

export class MarkTools {
  constructor(app, isoHu) {
    this.app = app;
    this.isoHu = isoHu;
    this.mode = null; // 'mark', 'erase' or null
    this.scene = null; // the worker's last 'marks' message
    this.stroke = null; // { target, name, points, runs, misses, trail } while dragging
    this.hover = null; // { hit, on } under the mouse while the brush is on
    this.frame = 0;
    this.lastMove = null;
    this.hidPrintView = false; // the brush turned the print view off
    this.bind();
  }

  bind() {
    $('mark-brush').onclick = () => this.setMode(this.mode === 'mark' ? null : 'mark');
    $('mark-erase').onclick = () => this.setMode(this.mode === 'erase' ? null : 'erase');
    $('mark-suggest').onclick = () => {
      const t = this.target();
      if (t) this.apply({ op: 'suggest_articular', target: t, iso_hu: this.isoHu, max_gap_mm: Number($('mark-gap').value) }, 'Looking for joint partners');
    };
    $('mark-clear').onclick = () => {
      const t = this.target();
      if (t) this.apply({ op: 'clear_articular', target: t }, 'Clearing the marks');
    };
    const area = $('canvas3d').parentElement;
    area.addEventListener('mousedown', (e) => this.down(e), true);
    area.addEventListener('mousemove', (e) => this.move(e), true);
    area.addEventListener('mouseleave', () => { if (this.hover) { this.hover = null; this.drawOverlay(); } });
    $('mark-radius').addEventListener('input', () => this.drawOverlay());
    window.addEventListener('mouseup', (e) => this.up(e), true);
    window.addEventListener('keydown', (e) => { if (e.key === 'Escape' && this.mode) this.setMode(null); });
  }

  /** The selection (part or mesh object), as the Print panel sees it. */
  target() {
    const t = this.app.printTools.target();
    if (!t) this.app.setStatus('Select a part (click its row under Bones) or a mesh object first.', 'needs-input');
    return t;
  }

  targetName(t) {
    if (!t) return null;
    if (t.part !== undefined) return (this.app.seg && this.app.seg.parts.find((p) => p.label === t.part) || {}).name || `part ${t.part}`;
    return (this.app.meshTools.selectedObject() || {}).name || `mesh object ${t.mesh}`;
  }

  setMode(mode) {
    if (mode && !this.target()) mode = null;
    this.mode = mode;
    $('mark-brush').setAttribute('aria-pressed', String(mode === 'mark'));
    $('mark-erase').setAttribute('aria-pressed', String(mode === 'erase'));
    $('canvas3d').classList.toggle('marking', !!mode);
    const show = $('print-show3d');
    if (!mode && this.hidPrintView) {
      // Back from brushing: the print view as it was.
      this.hidPrintView = false;
      show.checked = true;
      this.app.printTools.draw3d();
    }
    if (mode) {
      // The brush works on the design's surfaces in patient space, not the print view.
      if (show.checked) { show.checked = false; this.hidPrintView = true; this.app.printTools.draw3d(); }
      const name = this.targetName(this.app.printTools.target());
      this.app.setStatus(`${mode === 'mark' ? 'Mark' : 'Erase'}: drag over ${name} in the 3-D view (${$('mark-radius').value} mm brush). Right-drag or Alt+drag rotates the view; Esc or ${mode === 'mark' ? 'Mark' : 'Erase'} again ends the brush.`, 'ready');
    } else {
      this.hover = null;
      this.drawOverlay();
    }
  }

  apply(op, label) {
    if (!this.app.study) return;
    this.app.setStatus(`${label}…`, 'busy');
    this.app.worker.postMessage({ type: 'markop', op, label });
  }

  /** A mouse event's position on the 3-D view, CSS pixels from its top-left corner. */
  local(e) {
    const r = $('canvas3d').getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  /** What is under CSS pixel (x, y) of the 3-D view (the canvas may be stretched since its last frame). */
  pickAt(x, y) {
    const c = $('canvas3d');
    const r = c.getBoundingClientRect();
    const o = this.app.orbit;
    return this.app.viewer.pick(x * (c.width / r.width), y * (c.height / r.height), c.width, c.height, o.yaw, o.pitch, o.zoom);
  }

  /** Whether a pick hit the stroke's target (its surface or its marks drawn over it). */
  onTarget(hit, t) {
    if (t.mesh !== undefined) {
      const o = this.app.meshTools.objectOfLabel(hit.label);
      return !!o && o.id === t.mesh;
    }
    return hit.label === t.part || (hit.label === 0 && this.app.labelNear(hit.voxel) === t.part);
  }

  down(e) {
    // Right, middle and Alt+left drags go on to the view (rotate); a left drag paints.
    if (!this.mode || e.button !== 0 || e.altKey || e.target !== $('canvas3d') || !this.app.study) return;
    e.stopPropagation();
    e.preventDefault();
    const target = this.target();
    if (!target) return;
    this.stroke = { target, name: this.targetName(target), points: [], runs: [], misses: 0, trail: [], last: null, broken: true };
    this.sample(e);
  }

  move(e) {
    if (!this.mode) return;
    if (this.stroke) e.stopPropagation();
    this.lastMove = e;
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        const m = this.lastMove;
        if (!m || !this.mode) return;
        if (this.stroke) this.sample(m);
        else this.hoverAt(m);
      });
    }
  }

  /** The brush ring under the mouse (also while a right drag rotates the view). */
  hoverAt(e) {
    const [x, y] = this.local(e);
    const t = this.app.printTools.target();
    const hit = e.target === $('canvas3d') ? this.pickAt(x, y) : null;
    this.hover = hit ? { hit, on: !!t && this.onTarget(hit, t) } : null;
    this.drawOverlay();
  }

  /** One point of the stroke under the mouse, when it lies on the target. */
  sample(e) {
    const s = this.stroke;
    const [x, y] = this.local(e);
    const hit = this.pickAt(x, y);
    const on = !!hit && this.onTarget(hit, s.target);
    this.hover = hit ? { hit, on } : null;
    s.trail.push([x, y, on]);
    if (on) {
      if (s.last) this.fillIn(s, s.last.xy, [x, y], s.last.p, hit.point_mm);
      this.addPoint(s, hit.point_mm);
      s.last = { xy: [x, y], p: hit.point_mm };
    } else {
      s.misses++;
      s.broken = true;
      s.last = null;
    }
    this.drawOverlay();
    this.app.setStatus(`${this.mode === 'mark' ? 'Marking' : 'Erasing'} ${s.name}: ${s.points.length} point(s)…`, 'busy');
  }

  /**
   * Picks between two stroke points more than a radius apart, on the screen line between
   * them, so the stroke follows the surface (a pick off the selection breaks the run).
   */
  fillIn(s, from, to, pFrom, pTo) {
    const radius = Number($('mark-radius').value);
    const n = Math.min(MAX_FILL, Math.ceil(dist(pFrom, pTo) / radius));
    for (let k = 1; k < n; k++) {
      const t = k / n;
      const hit = this.pickAt(from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t);
      if (hit && this.onTarget(hit, s.target)) this.addPoint(s, hit.point_mm);
      else s.broken = true;
    }
  }

  /** Appends a stroke point (0.01 mm), to the current run or, after a break, a new one. */
  addPoint(s, point) {
    const p = point.map((v) => Math.round(v * 100) / 100);
    const last = s.points[s.points.length - 1];
    const radius = Number($('mark-radius').value);
    if (!s.broken && last && dist(p, last) < radius * MIN_SPACING) return;
    if (s.points.length >= MAX_STROKE_POINTS) return;
    s.points.push(p);
    if (s.broken) s.runs.push(1);
    else s.runs[s.runs.length - 1]++;
    s.broken = false;
  }

  up(e) {
    if (!this.stroke) return;
    e.stopPropagation();
    if (this.frame) { cancelAnimationFrame(this.frame); this.frame = 0; }
    if (e.target === $('canvas3d')) this.sample(e);
    const s = this.stroke;
    this.stroke = null;
    this.drawOverlay();
    const radius = Number($('mark-radius').value);
    if (!s.points.length) {
      this.app.setStatus(`The brush missed ${s.name}: drag over its surface in the 3-D view (calculate the parts first to see a part's surface).`, 'needs-input');
      return;
    }
    this.apply({
      op: 'mark_articular', target: s.target, iso_hu: this.isoHu, stroke_mm: s.points, radius_mm: radius, erase: this.mode === 'erase', runs: s.runs,
    }, this.mode === 'erase' ? 'Erasing marks' : 'Marking');
  }

  /**
   * The 2-D layer over the 3-D view: the path of the stroke being drawn (magenta where it
   * lies on the selection, grey where it missed; cleared when the stroke ends — the marks
   * themselves appear when the worker has applied it), and the brush ring under the mouse.
   */
  drawOverlay() {
    let o = this.trailCanvas;
    if (!o) {
      o = Object.assign(document.createElement('canvas'), { className: 'stroke-overlay' });
      $('canvas3d').after(o);
      this.trailCanvas = o;
    }
    const c = $('canvas3d');
    const r = c.getBoundingClientRect();
    o.width = Math.max(1, Math.round(r.width * devicePixelRatio));
    o.height = Math.max(1, Math.round(r.height * devicePixelRatio));
    const g = o.getContext('2d');
    g.clearRect(0, 0, o.width, o.height);
    g.scale(devicePixelRatio, devicePixelRatio);
    const s = this.stroke;
    if (s) {
      g.lineWidth = 2;
      g.strokeStyle = 'rgba(255, 0, 255, 0.5)';
      g.beginPath();
      s.trail.forEach(([x, y], n) => (n ? g.lineTo(x, y) : g.moveTo(x, y)));
      g.stroke();
      for (const [x, y, on] of s.trail) {
        g.fillStyle = on ? 'rgb(255, 0, 255)' : 'rgba(170, 170, 170, 0.8)';
        g.beginPath();
        g.arc(x, y, 3.5, 0, 2 * Math.PI);
        g.fill();
      }
    }
    const ring = this.mode && this.hover ? this.ring(this.hover.hit) : null;
    o.dataset.ring = ring ? String(ring.radius) : '';
    o.dataset.ringOn = ring ? String(this.hover.on) : '';
    if (!ring) return;
    // CSS pixels of the ring's device pixels on the 3-D canvas.
    const k = r.width / c.width;
    g.lineWidth = 2;
    g.setLineDash(this.hover.on ? [] : [4, 4]);
    g.strokeStyle = !this.hover.on ? 'rgba(200, 200, 200, 0.8)' : this.mode === 'erase' ? 'rgb(255, 255, 255)' : 'rgb(255, 0, 255)';
    g.beginPath();
    let right = null;
    for (let n = 0; n <= RING_POINTS; n++) {
      const [x, y] = [ring.px[2 * (n % RING_POINTS)] * k, ring.px[2 * (n % RING_POINTS) + 1] * k];
      if (n) g.lineTo(x, y); else g.moveTo(x, y);
      if (!right || x > right[0]) right = [x, y];
    }
    g.stroke();
    g.setLineDash([]);
    g.font = '12px system-ui, sans-serif';
    g.fillStyle = g.strokeStyle;
    g.fillText(`${ring.radius} mm${this.hover.on ? '' : ' (not the selection)'}`, right[0] + 6, right[1] + 4);
  }

  /** The brush's circle on the face under the mouse: its radius (mm) and device pixels of its points. */
  ring(hit) {
    const radius = Number($('mark-radius').value);
    const n = hit.normal;
    if (!(radius > 0) || !n) return null;
    // Two unit vectors across the normal.
    const a = Math.abs(n[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
    const cross = (p, q) => [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]];
    const u0 = cross(n, a);
    const lu = Math.hypot(...u0);
    const u = u0.map((v) => v / lu);
    const v = cross(n, u);
    const pts = new Float64Array(3 * RING_POINTS);
    for (let i = 0; i < RING_POINTS; i++) {
      const t = (2 * Math.PI * i) / RING_POINTS;
      for (let d = 0; d < 3; d++) pts[3 * i + d] = hit.point_mm[d] + radius * (Math.cos(t) * u[d] + Math.sin(t) * v[d]);
    }
    const c = $('canvas3d');
    const o = this.app.orbit;
    const px = this.app.viewer.project(pts, c.width, c.height, o.yaw, o.pitch, o.zoom);
    return px.every(Number.isFinite) ? { radius, px } : null;
  }

  /** The marked surfaces after a mark op (with `seg`), a mesh op, undo, redo or replay. */
  onMarks(msg) {
    const app = this.app;
    const t0 = performance.now();
    this.scene = msg;
    if (msg.seg) {
      app.idle();
      app.setSegReport(msg.seg);
      if (app.design) {
        app.design.ops = [app.design.ops[0], ...msg.seg.ops];
        app.updateLink();
      }
      app.renderPartsTable();
      app.setStatus(`${msg.note.charAt(0).toUpperCase()}${msg.note.slice(1)}.`, 'ready');
    }
    this.drawMarks();
    app.draw3d();
    this.render();
    this.lastTiming = { ...msg.timing, page_ms: performance.now() - t0 };
  }

  /** The marked faces as the viewer's overlays (also after the surfaces drawn changed: their labels may have). */
  drawMarks() {
    const labelOf = (t) => this.app.meshTools.viewerLabel(t);
    // The deviation map's colours (mesh_tools.js) go under the marks.
    const lists = [this.app.meshTools.deviationList(labelOf), this.sceneList(labelOf)].filter(Boolean);
    const cat = (k, T) => {
      const out = new T(lists.reduce((a, l) => a + l[k].length, 0));
      let at = 0;
      for (const l of lists) { out.set(l[k], at); at += l[k].length; }
      return out;
    };
    const m = {
      positions: cat('positions', Float32Array), indices: cat('indices', Uint32Array),
      ...Object.fromEntries(['vertex_counts', 'index_counts', 'colours', 'labels'].map((k) => [k, lists.flatMap((l) => [...l[k]])])),
    };
    this.app.viewer.setOverlays(m.positions, m.indices, Uint32Array.from(m.vertex_counts), Uint32Array.from(m.index_counts),
      Uint8Array.from(m.colours), Uint8Array.from(m.labels));
  }

  /** Marked faces for the viewer's overlays: one piece per marked surface, labelled as the surface. */
  sceneList(labelOf) {
    const m = this.scene;
    if (!m || !m.surfaces.length) return null;
    const keep = m.surfaces.map((s) => labelOf(s.target));
    if (keep.every((l) => l === null)) return null;
    // Pieces of surfaces not drawn (a part before Calculate parts) are left out.
    const list = { positions: [], indices: [], vertex_counts: [], index_counts: [], colours: [], labels: [] };
    let [pv, pi] = [0, 0];
    m.surfaces.forEach((s, n) => {
      const nv = m.vertex_counts[n] * 3;
      const ni = m.index_counts[n];
      if (keep[n] !== null) {
        list.positions.push(m.positions.subarray(pv, pv + nv));
        list.indices.push(m.indices.subarray(pi, pi + ni));
        list.vertex_counts.push(m.vertex_counts[n]);
        list.index_counts.push(ni);
        list.colours.push(...MARK_COLOUR);
        list.labels.push(keep[n]);
      }
      pv += nv;
      pi += ni;
    });
    const cat = (arrays, T) => {
      const out = new T(arrays.reduce((a, x) => a + x.length, 0));
      let at = 0;
      for (const x of arrays) { out.set(x, at); at += x.length; }
      return out;
    };
    return { ...list, positions: cat(list.positions, Float32Array), indices: cat(list.indices, Uint32Array) };
  }

  /** The marks of `t` ({part} or {mesh}) as the worker reported them, or null. */
  marksOf(t) {
    const m = this.scene;
    if (!m || !t) return null;
    return m.surfaces.find((s) => (t.part !== undefined ? s.target.part === t.part : s.target.mesh === t.mesh)) || null;
  }

  render() {
    const t = this.app.printTools.target();
    for (const id of ['mark-suggest', 'mark-brush', 'mark-erase', 'mark-clear']) $(id).disabled = !t;
    if (!t && this.mode) this.setMode(null);
    const r = $('mark-report');
    const s = this.marksOf(t);
    r.dataset.faces = s ? String(s.faces) : '0';
    r.dataset.area = s ? String(s.area_mm2) : '0';
    if (!t) { r.textContent = ''; return; }
    // A part edited since its surface was calculated is not drawn, nor are its marks.
    const hidden = s && this.app.meshTools.viewerLabel(t) === null;
    r.dataset.drawn = String(!!s && !hidden);
    r.textContent = s
      ? `${s.name}: ${s.faces.toLocaleString()} of ${s.triangles.toLocaleString()} faces marked as joint surface, ${fmt(s.area_mm2, 0)} mm² (${fmt(100 * s.faces / s.triangles, 1)} % of the faces).${hidden ? ' Calculate parts to draw the part and its marks again.' : ''}`
      : `${this.targetName(t)}: no joint surface marked. Suggest them, or mark them with the brush.`;
  }
}
