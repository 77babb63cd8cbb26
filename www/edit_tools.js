// Edit panel: brush paint/erase, lasso, cut line, morphology and cavity fill on the
// selected part, plus the 3-D view's per-part opacity and clipping plane. Every edit
// becomes one design operation sent through the app's applyOp, so it is undoable and
// lands in the design link. Coordinates sent are voxel indices; radii are mm.
//
// Slice pixels (u, v) follow src/segment/edit.rs: (i, j) on axial slices (axis 2),
// (i, k) on coronal (axis 1), (j, k) on sagittal (axis 0).

const FIXED_AXIS = [2, 1, 0];
const $ = (id) => document.getElementById(id);

export class EditTools {
  constructor(app) {
    this.app = app;
    this.tool = null; // 'paint' | 'erase' | 'lasso' | 'lasso-erase' | 'cut' | null
    this.selected = null; // label of the selected part
    this.selectNewPart = false;
    this.stroke = null; // { view, points: [[i,j,k]...], screen: [[x,y]...] }
    this.lasso = null; // { view, index, pts: [[u,v]...], screen }
    this.cut = null; // { view, index, keep: [u,v], label, line: [[u,v],[u,v]] | null }
    this.hover = null; // { view, x, y } screen pixels of the brush under the cursor
    // The stroke or loop sent to the worker, drawn until its labels arrive (no flicker).
    this.pending = null; // { view, index, stroke: screen[] } | { view, index, loop: screen[], erase }
    this.opacity = new Map(); // label -> 0..1 (1 not stored)
    this.clip = null; // { axis, position_mm, flip }
    this.bind();
  }

  // ---- panel ----

  bind() {
    for (const b of document.querySelectorAll('#edit-panel [data-tool]')) {
      b.onclick = () => this.setTool(this.tool === b.dataset.tool ? null : b.dataset.tool);
    }
    $('brush-radius').oninput = () => { $('brush-radius-readout').textContent = `${this.radius()} mm`; this.redrawViews(); };
    $('brush-radius-readout').textContent = `${this.radius()} mm`;
    for (const b of document.querySelectorAll('#edit-panel [data-morph]')) {
      b.onclick = () => this.morph(b.dataset.morph);
    }
    $('fill-cavities').onclick = () => this.withPart((label) => this.app.applyOp({ op: 'fill_cavities', label }));
    $('part-opacity').oninput = () => this.setOpacity(Number($('part-opacity').value) / 100);
    $('clip-axis').onchange = () => this.setClipFromUi();
    $('clip-pos').oninput = () => this.setClipFromUi();
    $('clip-flip').onchange = () => this.setClipFromUi();
    window.addEventListener('keydown', (e) => this.onKey(e));
    // The other mouse modes leave the edit tool.
    for (const id of ['grow-mode', 'split-mode', 'tool-measure']) {
      $(id).addEventListener('click', () => { if (this.tool) this.setTool(null); });
    }
    this.syncUi();
  }

  radius() {
    return Number($('brush-radius').value);
  }

  sphere() {
    return $('brush-sphere').checked;
  }

  setTool(tool) {
    this.tool = tool;
    this.stroke = null;
    this.lasso = null;
    this.cut = null;
    if (tool) {
      // One mouse mode at a time: leave grow, split and measure.
      const app = this.app;
      app.growing = false;
      $('grow-mode').setAttribute('aria-pressed', 'false');
      if (app.splitting) app.setSplitMode(false);
      app.measuring = false;
      $('tool-measure').setAttribute('aria-pressed', 'false');
      const hint = {
        paint: this.selected ? `Paint: drag on a slice to add to ${this.partName(this.selected)}.` : 'Paint: drag on a slice to paint a new part (select a row to paint into it).',
        erase: 'Erase: drag on a slice over the selected part.',
        lasso: 'Lasso: drag a loop on a slice to fill it into the selected part (a new part when none is selected).',
        'lasso-erase': 'Lasso erase: drag a loop on a slice to erase it from the selected part.',
        cut: 'Cut: click inside the part on the side to keep, then drag the cut line.',
      }[tool];
      app.setStatus(hint, 'needs-input');
    }
    this.syncUi();
    this.redrawViews();
  }

  syncUi() {
    for (const b of document.querySelectorAll('#edit-panel [data-tool]')) {
      b.setAttribute('aria-pressed', String(this.tool === b.dataset.tool));
    }
    const part = this.selectedPart();
    $('edit-target').textContent = part ? part.name : 'none (paint makes a new part)';
    for (const b of document.querySelectorAll('#edit-panel [data-morph], #fill-cavities')) b.disabled = !part;
    $('part-opacity').disabled = !part;
    $('part-opacity').value = String(Math.round(100 * (part ? this.opacity.get(part.label) ?? 1 : 1)));
    const brush = this.tool === 'paint' || this.tool === 'erase';
    for (const v of this.app.views) v.canvas.classList.toggle('editing', brush);
  }

  partName(label) {
    const p = this.app.seg && this.app.seg.parts.find((q) => q.label === label);
    return p ? p.name : `part ${label}`;
  }

  selectedPart() {
    const seg = this.app.seg;
    return seg && this.selected !== null ? seg.parts.find((p) => p.label === this.selected) || null : null;
  }

  select(label) {
    this.selected = label;
    for (const tr of document.querySelectorAll('#parts-table tbody tr')) {
      tr.classList.toggle('selected', Number(tr.dataset.label) === label);
    }
    this.syncUi();
  }

  /** Hook: called after the masks table is rebuilt. */
  afterPartsTable() {
    const parts = this.app.seg ? this.app.seg.parts : [];
    if (this.selectNewPart && parts.length) {
      this.selected = Math.max(...parts.map((p) => p.label));
    }
    this.selectNewPart = false;
    if (!parts.some((p) => p.label === this.selected)) this.selected = null;
    for (const tr of document.querySelectorAll('#parts-table tbody tr')) {
      const label = Number(tr.dataset.label);
      tr.addEventListener('click', (e) => {
        if (e.target.closest('button, input')) return;
        this.select(this.selected === label ? null : label);
      });
    }
    this.select(this.selected);
    // Opacity is view state: re-apply it to freshly calculated parts.
    for (const [label, o] of this.opacity) this.app.viewer.setPartOpacity(label, o);
  }

  withPart(f) {
    const part = this.selectedPart();
    if (!part) { this.app.setStatus('Select a part in the masks table first.', 'needs-input'); return; }
    f(part.label);
  }

  morph(kind) {
    const radius_mm = Number($('morph-mm').value);
    this.withPart((label) => this.app.applyOp({ op: 'morphology', label, kind, radius_mm }));
  }

  onKey(e) {
    if (!this.app.study) return;
    const typing = e.target.tagName === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes(e.target.type);
    if (typing || e.target.tagName === 'TEXTAREA') return;
    const k = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && (k === 'z' || k === 'y')) {
      e.preventDefault();
      const redo = k === 'y' || e.shiftKey;
      const seg = this.app.seg;
      if (redo ? seg && seg.can_redo : seg && seg.can_undo) this.app.worker.postMessage({ type: redo ? 'redo' : 'undo' });
    } else if (e.key === 'Escape' && this.tool) {
      this.stroke = null; this.lasso = null; this.cut = null;
      this.setTool(null);
    }
  }

  // ---- mouse on the MPR views (hooks from mpr_view.js) ----

  /** Slice pixel (u, v) of a view pixel position, rounded to pixel centres, clamped to 0..size. */
  sliceUv(view, px, py) {
    const l = view.layout();
    const nz = this.app.study.dims[2];
    const u = Math.round(px - 0.5);
    const v = view.plane === 0 ? Math.round(py - 0.5) : Math.round(nz - 0.5 - py);
    const h = view.plane === 0 ? l.h : nz;
    return [Math.min(l.w, Math.max(0, u)), Math.min(h, Math.max(0, v))];
  }

  /** (u, v) of a voxel on the slice of `view`. */
  voxelUv(view, voxel) {
    const axis = FIXED_AXIS[view.plane];
    return voxel.filter((_, a) => a !== axis);
  }

  down(view, e) {
    const voxel = view.voxelOfEvent(e);
    const { px, py } = view.eventPixel(e);
    const screen = this.screenOf(view, e);
    if (this.tool === 'paint' || this.tool === 'erase') {
      this.stroke = { view, points: [voxel], screen: [screen] };
    } else if (this.tool === 'lasso' || this.tool === 'lasso-erase') {
      this.lasso = { view, index: view.sliceIndex, pts: [this.sliceUv(view, px, py)], screen: [screen], erase: this.tool === 'lasso-erase' };
    } else if (this.tool === 'cut') {
      this.cutDown(view, voxel, screen);
    }
    view.draw();
  }

  move(view, e) {
    const screen = this.screenOf(view, e);
    if (this.stroke && this.stroke.view === view) {
      const voxel = view.voxelOfEvent(e);
      const last = this.stroke.points[this.stroke.points.length - 1];
      if (voxel.some((c, a) => c !== last[a])) {
        this.stroke.points.push(voxel);
        this.stroke.screen.push(screen);
      }
    } else if (this.lasso && this.lasso.view === view) {
      const { px, py } = view.eventPixel(e);
      const uv = this.sliceUv(view, px, py);
      const last = this.lasso.pts[this.lasso.pts.length - 1];
      if (uv[0] !== last[0] || uv[1] !== last[1]) {
        this.lasso.pts.push(uv);
        this.lasso.screen.push(screen);
      }
    } else if (this.cut && this.cut.line && this.cut.view === view) {
      this.cut.line[1] = this.voxelUv(view, view.voxelOfEvent(e));
      this.cut.screen[1] = screen;
    }
    view.draw();
  }

  /** Hover without a button: remember where to draw the brush outline. */
  hoverAt(view, e) {
    if (!this.tool) { if (this.hover) { this.hover = null; view.draw(); } return; }
    const prev = this.hover && this.hover.view;
    this.hover = e ? { view, ...this.screenOf(view, e) } : null;
    if (prev && prev !== view) prev.draw();
    if (!(this.stroke || this.lasso)) view.draw();
  }

  up(view) {
    if (this.stroke) {
      const { points, screen } = this.stroke;
      this.stroke = null;
      if (this.sendStroke(view, points)) this.pending = { view, index: view.sliceIndex, stroke: screen, erase: this.tool === 'erase' };
    } else if (this.lasso) {
      const l = this.lasso;
      this.lasso = null;
      if (this.sendLasso(l)) this.pending = { view, index: l.index, loop: l.screen, erase: l.erase };
    } else if (this.cut && this.cut.line) {
      this.sendCut();
    }
    view.draw();
  }

  /** Hook: the worker answered (new labels or an error): stop drawing the sent stroke. */
  clearPending() {
    const p = this.pending;
    this.pending = null;
    if (p) p.view.draw();
  }

  screenOf(view, e) {
    const r = view.canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * devicePixelRatio, y: (e.clientY - r.top) * devicePixelRatio };
  }

  sendStroke(view, points) {
    const axis = this.sphere() ? null : FIXED_AXIS[view.plane];
    const radius_mm = this.radius();
    if (this.tool === 'paint') {
      const label = this.selected;
      if (label === null) this.selectNewPart = true;
      this.app.applyOp({ op: 'paint', label, axis, radius_mm, stroke: points });
      return true;
    }
    const label = this.selected ?? this.app.viewer.labelAt(...points[0]);
    if (!label) { this.app.setStatus('Select the part to erase from in the masks table, or start the stroke inside it.', 'needs-input'); return false; }
    this.app.applyOp({ op: 'erase', label, axis, radius_mm, stroke: points });
    return true;
  }

  sendLasso(l) {
    const axis = FIXED_AXIS[l.view.plane];
    if (l.erase) {
      if (this.selected === null) { this.app.setStatus('Select the part to erase from in the masks table first.', 'needs-input'); return false; }
      this.app.applyOp({ op: 'lasso_erase', label: this.selected, axis, index: l.index, polygon: l.pts });
      return true;
    }
    if (this.selected === null) this.selectNewPart = true;
    this.app.applyOp({ op: 'lasso_fill', label: this.selected, axis, index: l.index, polygon: l.pts });
    return true;
  }

  cutDown(view, voxel, screen) {
    const c = this.cut;
    if (c && c.view === view && c.index === view.sliceIndex) {
      // Second press: start the line.
      const uv = this.voxelUv(view, voxel);
      c.line = [uv, [...uv]];
      c.screen = [screen, screen];
      return;
    }
    const label = this.app.viewer.labelAt(...voxel);
    if (!label) { this.app.setStatus('Cut: click inside a coloured part, on the side that keeps its name.', 'needs-input'); this.cut = null; return; }
    this.cut = { view, index: view.sliceIndex, label, keep: this.voxelUv(view, voxel), keepScreen: screen, line: null };
    this.select(label);
    this.app.setStatus(`Cut: now drag the cut line across ${this.partName(label)} on this slice.`, 'needs-input');
  }

  sendCut() {
    const c = this.cut;
    this.cut = null;
    const axis = FIXED_AXIS[c.view.plane];
    this.app.applyOp({ op: 'cut_part', label: c.label, axis, index: c.index, keep: c.keep, line: c.line });
  }

  /** Hook from MprView.draw: brush outline, stroke, lasso and cut line. */
  drawOverlay(view, l) {
    const p = this.pending;
    if (p && p.view === view && p.index === view.sliceIndex) this.drawPending(view, l, p);
    if (!this.tool) return;
    const { ctx } = view;
    const dpr = devicePixelRatio;
    const [mx, my] = this.app.viewer.pixelMm(view.plane);
    const r = this.radius();
    const rx = (r / mx) * l.sx;
    const ry = (r / my) * l.sy;
    const colour = this.tool === 'erase' ? 'rgba(255, 93, 93, 0.9)' : 'rgba(255, 213, 74, 0.9)';
    ctx.save();
    ctx.lineWidth = 1.5 * dpr;
    ctx.strokeStyle = colour;
    if (this.stroke && this.stroke.view === view) {
      ctx.fillStyle = this.tool === 'erase' ? 'rgba(255, 93, 93, 0.35)' : 'rgba(255, 213, 74, 0.35)';
      for (const p of this.stroke.screen) {
        ctx.beginPath(); ctx.ellipse(p.x, p.y, rx, ry, 0, 0, 2 * Math.PI); ctx.fill();
      }
    }
    if ((this.tool === 'paint' || this.tool === 'erase') && this.hover && this.hover.view === view) {
      ctx.beginPath(); ctx.ellipse(this.hover.x, this.hover.y, rx, ry, 0, 0, 2 * Math.PI); ctx.stroke();
    }
    if (this.lasso && this.lasso.view === view) {
      ctx.strokeStyle = this.lasso.erase ? 'rgba(255, 93, 93, 0.9)' : colour;
      ctx.beginPath();
      this.lasso.screen.forEach((p, n) => (n ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
      ctx.closePath();
      ctx.stroke();
    }
    if (this.cut && this.cut.view === view && this.cut.index === view.sliceIndex) {
      ctx.fillStyle = '#3ecf8e';
      const k = this.cut.keepScreen;
      ctx.beginPath(); ctx.arc(k.x, k.y, 4 * dpr, 0, 2 * Math.PI); ctx.fill();
      if (this.cut.line) {
        const [a, b] = this.cut.screen;
        ctx.strokeStyle = '#ff5d5d';
        ctx.setLineDash([6 * dpr, 4 * dpr]);
        ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
      }
    }
    ctx.restore();
  }

  /** The stroke or loop on its way to the worker, filled as the labels will be. */
  drawPending(view, l, p) {
    const { ctx } = view;
    const [mx, my] = this.app.viewer.pixelMm(view.plane);
    const r = this.radius();
    ctx.save();
    ctx.fillStyle = p.erase ? 'rgba(255, 93, 93, 0.35)' : 'rgba(255, 213, 74, 0.35)';
    if (p.stroke) {
      for (const q of p.stroke) {
        ctx.beginPath(); ctx.ellipse(q.x, q.y, (r / mx) * l.sx, (r / my) * l.sy, 0, 0, 2 * Math.PI); ctx.fill();
      }
    } else {
      ctx.beginPath();
      p.loop.forEach((q, n) => (n ? ctx.lineTo(q.x, q.y) : ctx.moveTo(q.x, q.y)));
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  }

  redrawViews() {
    if (!this.app.study) return;
    for (const v of this.app.views) v.draw();
  }

  // ---- 3-D view state: opacity and clipping ----

  setOpacity(o) {
    const part = this.selectedPart();
    if (!part) return;
    const v = Math.round(o * 100) / 100;
    if (v >= 1) this.opacity.delete(part.label); else this.opacity.set(part.label, v);
    this.app.viewer.setPartOpacity(part.label, v);
    this.app.draw3d();
    this.app.scheduleLinkUpdate();
  }

  /** Patient-mm extent [min, max] of the study along LPS axis `axis`. */
  extentMm(axis) {
    const { dims, patient_from_voxel: m } = this.app.study;
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of [0, dims[0] - 1]) for (const j of [0, dims[1] - 1]) for (const k of [0, dims[2] - 1]) {
      // Column-major 4x4: row `axis` of the affine.
      const p = m[axis] * i + m[4 + axis] * j + m[8 + axis] * k + m[12 + axis];
      lo = Math.min(lo, p); hi = Math.max(hi, p);
    }
    return [lo, hi];
  }

  setClipFromUi() {
    const axis = Number($('clip-axis').value);
    $('clip-pos').disabled = axis < 0;
    $('clip-flip').disabled = axis < 0;
    if (axis < 0 || !this.app.study) {
      this.clip = null;
    } else {
      const [lo, hi] = this.extentMm(axis);
      const t = Number($('clip-pos').value) / 1000;
      this.clip = { axis, position_mm: Math.round((lo + t * (hi - lo)) * 10) / 10, flip: $('clip-flip').checked };
    }
    this.applyClip();
  }

  applyClip() {
    const c = this.clip;
    if (c) this.app.viewer.setClip(c.axis, c.position_mm, c.flip);
    else this.app.viewer.setClip(255, 0, false);
    this.app.draw3d();
    this.app.scheduleLinkUpdate();
  }

  /** Hook: the view fields this module owns, for the design link. */
  viewState() {
    return {
      part_opacity: [...this.opacity].sort((a, b) => a[0] - b[0]),
      clip: this.clip,
    };
  }

  /** Hook: restores opacity and clipping from a design link's view. */
  applyView(view) {
    this.opacity = new Map((view.part_opacity || []).map(([l, o]) => [l, o]));
    for (const [label, o] of this.opacity) this.app.viewer.setPartOpacity(label, o);
    this.clip = view.clip || null;
    $('clip-axis').value = String(this.clip ? this.clip.axis : -1);
    $('clip-flip').checked = !!(this.clip && this.clip.flip);
    $('clip-pos').disabled = !this.clip;
    $('clip-flip').disabled = !this.clip;
    if (this.clip) {
      const [lo, hi] = this.extentMm(this.clip.axis);
      $('clip-pos').value = String(Math.round(((this.clip.position_mm - lo) / (hi - lo || 1)) * 1000));
    }
    this.applyClip();
    this.syncUi();
  }

  /** Hook: a new study was loaded. */
  reset() {
    this.pending = null;
    this.setTool(null);
    this.selected = null;
    this.opacity = new Map();
    this.clip = null;
    $('clip-axis').value = '-1';
    $('clip-pos').value = '500';
    $('clip-flip').checked = false;
    $('clip-pos').disabled = true;
    $('clip-flip').disabled = true;
    this.app.viewer.setClip(255, 0, false);
    $('edit-panel').hidden = false;
    this.syncUi();
  }
}
