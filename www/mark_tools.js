// Articular surfaces (top of the Print panel): mark the joint surfaces of the selected
// part or mesh object, which printing keeps facing up and free of supports. "Suggest joint
// surfaces" marks the faces that look at a neighbouring bone across a joint gap; the brush
// (Mark / Erase, radius in mm) paints or unpaints faces by dragging over the selection in
// the 3-D view; Clear removes them. Each stroke or action is one design op ('markop'), so
// marks are in the op log, the link, undo/redo and `osteon replay`. The worker sends the
// marked faces of every marked surface ('marks'); MeshTools draws them over the surfaces
// in the marks' colour.
//
// While a brush is on, a left drag on the 3-D view paints instead of rotating: the events
// are taken in the capture phase on the view's container, before the app's rotate/pick
// handlers see them. Esc or a second click on the button turns the brush off.

const $ = (id) => document.getElementById(id);
const fmt = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
/** Colour of marked faces, a vivid magenta unlike every part colour (the worker's print view uses the same). */
export const MARK_COLOUR = [255, 0, 255];
/** Points kept per stroke (each is a pick in the 3-D view). */
const MAX_STROKE_POINTS = 400;

export class MarkTools {
  constructor(app, isoHu) {
    this.app = app;
    this.isoHu = isoHu;
    this.mode = null; // 'mark', 'erase' or null
    this.scene = null; // the worker's last 'marks' message
    this.stroke = null; // { target, name, points, misses } while dragging
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
      this.app.setStatus(`${mode === 'mark' ? 'Mark' : 'Erase'}: drag over ${name} in the 3-D view (${$('mark-radius').value} mm brush). Esc or click ${mode === 'mark' ? 'Mark' : 'Erase'} again to rotate the view.`, 'ready');
    }
  }

  apply(op, label) {
    if (!this.app.study) return;
    this.app.setStatus(`${label}…`, 'busy');
    this.app.worker.postMessage({ type: 'markop', op, label });
  }

  /** Canvas pixels of a mouse event (the canvas may be stretched since its last frame). */
  pick(e) {
    const c = $('canvas3d');
    const r = c.getBoundingClientRect();
    const o = this.app.orbit;
    return this.app.viewer.pick((e.clientX - r.left) * (c.width / r.width), (e.clientY - r.top) * (c.height / r.height),
      c.width, c.height, o.yaw, o.pitch, o.zoom);
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
    if (!this.mode || e.button !== 0 || e.target !== $('canvas3d') || !this.app.study) return;
    e.stopPropagation();
    e.preventDefault();
    const target = this.target();
    if (!target) return;
    this.stroke = { target, name: this.targetName(target), points: [], misses: 0, trail: [] };
    this.sample(e);
  }

  move(e) {
    if (!this.stroke) return;
    e.stopPropagation();
    this.lastMove = e;
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        if (this.stroke && this.lastMove) this.sample(this.lastMove);
      });
    }
  }

  /** One point of the stroke under the mouse, when it lies on the target. */
  sample(e) {
    const s = this.stroke;
    const hit = this.pick(e);
    const r = $('canvas3d').getBoundingClientRect();
    const on = !!hit && this.onTarget(hit, s.target);
    s.trail.push([e.clientX - r.left, e.clientY - r.top, on]);
    this.drawTrail();
    if (!on) { s.misses++; return; }
    const radius = Number($('mark-radius').value);
    const p = hit.point_mm.map((v) => Math.round(v * 100) / 100);
    const last = s.points[s.points.length - 1];
    if (last && Math.hypot(p[0] - last[0], p[1] - last[1], p[2] - last[2]) < radius / 3) return;
    if (s.points.length >= MAX_STROKE_POINTS) return;
    s.points.push(p);
    this.app.setStatus(`${this.mode === 'mark' ? 'Marking' : 'Erasing'} ${s.name}: ${s.points.length} point(s)…`, 'busy');
  }

  up(e) {
    if (!this.stroke) return;
    e.stopPropagation();
    if (this.frame) { cancelAnimationFrame(this.frame); this.frame = 0; }
    if (e.target === $('canvas3d')) this.sample(e);
    const s = this.stroke;
    this.stroke = null;
    this.drawTrail();
    const radius = Number($('mark-radius').value);
    if (!s.points.length) {
      this.app.setStatus(`The brush missed ${s.name}: drag over its surface in the 3-D view (calculate the parts first to see a part's surface).`, 'needs-input');
      return;
    }
    this.apply({
      op: 'mark_articular', target: s.target, iso_hu: this.isoHu, stroke_mm: s.points, radius_mm: radius, erase: this.mode === 'erase',
    }, this.mode === 'erase' ? 'Erasing marks' : 'Marking');
  }

  /**
   * The path of the stroke being drawn, on a 2-D layer over the 3-D view: magenta where it
   * lies on the selection, grey where it missed (cleared when the stroke ends; the marks
   * themselves appear when the worker has applied it).
   */
  drawTrail() {
    let o = this.trailCanvas;
    if (!o) {
      o = Object.assign(document.createElement('canvas'), { className: 'stroke-overlay' });
      $('canvas3d').after(o);
      this.trailCanvas = o;
    }
    const r = $('canvas3d').getBoundingClientRect();
    o.width = Math.max(1, Math.round(r.width * devicePixelRatio));
    o.height = Math.max(1, Math.round(r.height * devicePixelRatio));
    const g = o.getContext('2d');
    g.clearRect(0, 0, o.width, o.height);
    const s = this.stroke;
    if (!s) return;
    g.scale(devicePixelRatio, devicePixelRatio);
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

  /** The marked surfaces after a mark op (with `seg`), a mesh op, undo, redo or replay. */
  onMarks(msg) {
    const app = this.app;
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
    app.meshTools.drawScene();
    this.render();
  }

  /** Marked faces for MeshTools.drawScene: one piece per marked surface, labelled as the surface. */
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
    r.textContent = s
      ? `${s.name}: ${s.faces.toLocaleString()} of ${s.triangles.toLocaleString()} faces marked as joint surface, ${fmt(s.area_mm2, 0)} mm² (${fmt(100 * s.faces / s.triangles, 1)} % of the faces).`
      : `${this.targetName(t)}: no joint surface marked. Suggest them, or mark them with the brush.`;
  }
}
