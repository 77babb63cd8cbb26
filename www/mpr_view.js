// One multiplanar reformat view on a 2-D canvas. Slices come from the wasm Viewer as
// RGBA; this file only does layout (zoom, pan, aspect from pixel size), the crosshair,
// measurements and mouse/keyboard handling.

// Plane conventions match src/mpr.rs: axial shows (i, j) at fixed k; coronal shows
// (i, k) at fixed j; sagittal shows (j, k) at fixed i; superior is up in both.
export const PLANES = ['Axial', 'Coronal', 'Sagittal'];
const FIXED_AXIS = [2, 1, 0];

export function voxelAt(plane, index, px, py, dims) {
  const nz = dims[2];
  if (plane === 0) return [px, py, index];
  if (plane === 1) return [px, index, nz - 1 - py];
  return [index, px, nz - 1 - py];
}

export function pixelOf(plane, voxel, dims) {
  const [i, j, k] = voxel;
  const nz = dims[2];
  if (plane === 0) return [k, i, j];
  if (plane === 1) return [j, i, nz - 1 - k];
  return [i, j, nz - 1 - k];
}

export class MprView {
  constructor(element, plane, app) {
    this.el = element;
    this.plane = plane;
    this.app = app;
    this.canvas = element.querySelector('canvas');
    this.info = element.querySelector('.info');
    this.ctx = this.canvas.getContext('2d');
    this.image = document.createElement('canvas');
    this.imageKey = '';
    this.zoom = 1;
    this.pan = [0, 0];
    this.drag = null;
    this.bindEvents();
  }

  reset() {
    this.zoom = 1;
    this.pan = [0, 0];
    this.imageKey = '';
  }

  get sliceIndex() {
    return this.app.cursor[FIXED_AXIS[this.plane]];
  }

  sliceCount() {
    return this.app.study.dims[FIXED_AXIS[this.plane]];
  }

  /** Screen pixels per slice pixel along x and y, and the image origin on screen. */
  layout() {
    const [w, h] = this.app.viewer.sliceSize(this.plane);
    const [mx, my] = this.app.viewer.pixelMm(this.plane);
    const cw = this.canvas.width;
    const ch = this.canvas.height;
    const fit = Math.min(cw / (w * mx), ch / (h * my)) * 0.96;
    const s = fit * this.zoom;
    const sx = mx * s;
    const sy = my * s;
    const ox = (cw - w * sx) / 2 + this.pan[0] * devicePixelRatio;
    const oy = (ch - h * sy) / 2 + this.pan[1] * devicePixelRatio;
    return { w, h, sx, sy, ox, oy };
  }

  /** Slice pixel (fractional) under a mouse event. */
  eventPixel(ev) {
    const r = this.canvas.getBoundingClientRect();
    const x = (ev.clientX - r.left) * devicePixelRatio;
    const y = (ev.clientY - r.top) * devicePixelRatio;
    const l = this.layout();
    return { px: (x - l.ox) / l.sx, py: (y - l.oy) / l.sy, inside: x >= l.ox && y >= l.oy && x < l.ox + l.w * l.sx && y < l.oy + l.h * l.sy, l };
  }

  voxelOfEvent(ev) {
    const { px, py, l } = this.eventPixel(ev);
    const cx = Math.min(l.w - 1, Math.max(0, Math.floor(px)));
    const cy = Math.min(l.h - 1, Math.max(0, Math.floor(py)));
    return voxelAt(this.plane, this.sliceIndex, cx, cy, this.app.study.dims);
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(r.width * devicePixelRatio));
    const h = Math.max(1, Math.round(r.height * devicePixelRatio));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  draw() {
    const { ctx, canvas } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!this.app.study) return;
    const { viewer, windowLevel } = this.app;
    const index = this.sliceIndex;
    const key = `${index}|${windowLevel.center}|${windowLevel.width}|${this.app.labelsVersion}`;
    const l = this.layout();
    if (key !== this.imageKey) {
      const rgba = viewer.sliceRgba(this.plane, index, windowLevel.center, windowLevel.width);
      this.image.width = l.w;
      this.image.height = l.h;
      this.image.getContext('2d').putImageData(new ImageData(rgba, l.w, l.h), 0, 0);
      this.imageKey = key;
    }
    ctx.imageSmoothingEnabled = this.zoom < 2;
    ctx.drawImage(this.image, l.ox, l.oy, l.w * l.sx, l.h * l.sy);
    this.drawCrosshair(l);
    this.drawMeasurements(l);
    if (this.app.edit) this.app.edit.drawOverlay(this, l);
    this.info.textContent = `${index + 1} / ${this.sliceCount()}`;
  }

  drawCrosshair(l) {
    const [, cx, cy] = pixelOf(this.plane, this.app.cursor, this.app.study.dims);
    const x = l.ox + (cx + 0.5) * l.sx;
    const y = l.oy + (cy + 0.5) * l.sy;
    const { ctx } = this;
    ctx.lineWidth = devicePixelRatio;
    ctx.strokeStyle = 'rgba(80, 200, 255, 0.6)';
    ctx.beginPath();
    ctx.moveTo(x, l.oy); ctx.lineTo(x, l.oy + l.h * l.sy);
    ctx.moveTo(l.ox, y); ctx.lineTo(l.ox + l.w * l.sx, y);
    ctx.stroke();
  }

  drawMeasurements(l) {
    const { ctx } = this;
    const toScreen = (v) => {
      const [, px, py] = pixelOf(this.plane, v, this.app.study.dims);
      return [l.ox + (px + 0.5) * l.sx, l.oy + (py + 0.5) * l.sy];
    };
    ctx.font = `${(this.app.presenter ? 24 : 13) * devicePixelRatio}px system-ui, sans-serif`;
    for (const m of this.app.measurements) {
      if (m.plane !== this.plane || m.index !== this.sliceIndex) continue;
      const a = toScreen(m.a);
      const b = m.b ? toScreen(m.b) : a;
      ctx.strokeStyle = '#ffd54a';
      ctx.fillStyle = '#ffd54a';
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...b); ctx.stroke();
      for (const p of [a, b]) { ctx.beginPath(); ctx.arc(p[0], p[1], 3 * devicePixelRatio, 0, 2 * Math.PI); ctx.fill(); }
      if (m.mm !== undefined) ctx.fillText(`${m.mm.toFixed(1)} mm`, b[0] + 6 * devicePixelRatio, b[1] - 6 * devicePixelRatio);
    }
  }

  scroll(delta) {
    const axis = FIXED_AXIS[this.plane];
    const n = this.sliceCount();
    this.app.cursor[axis] = Math.min(n - 1, Math.max(0, this.app.cursor[axis] + delta));
    this.app.redraw();
  }

  bindEvents() {
    const c = this.canvas;
    c.addEventListener('contextmenu', (e) => e.preventDefault());
    c.addEventListener('wheel', (e) => {
      if (!this.app.study) return;
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) {
        this.zoom = Math.min(20, Math.max(0.2, this.zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
        this.draw();
      } else {
        this.scroll(e.deltaY > 0 ? 1 : -1);
      }
    }, { passive: false });
    c.addEventListener('mouseenter', () => { this.app.activeView = this; });
    c.addEventListener('mousedown', (e) => {
      if (!this.app.study) return;
      e.preventDefault();
      const tool = this.app.edit && this.app.edit.tool ? 'edit' : this.app.measuring ? 'measure' : this.app.growing ? 'grow' : this.app.splitting ? 'split' : 'cursor';
      const mode = e.button === 2 || e.shiftKey ? 'window' : e.button === 1 || e.altKey ? 'pan' : tool;
      this.drag = { mode, x: e.clientX, y: e.clientY, wl: { ...this.app.windowLevel }, pan: [...this.pan] };
      if (mode === 'cursor') this.moveCursor(e);
      if (mode === 'measure') this.app.measureClick(this, this.voxelOfEvent(e));
      if (mode === 'grow') this.app.growAt(this.voxelOfEvent(e));
      if (mode === 'split') this.app.splitClick(this.voxelOfEvent(e));
      if (mode === 'edit') this.app.edit.down(this, e);
    });
    window.addEventListener('mouseup', () => {
      if (this.drag && this.drag.mode === 'edit') this.app.edit.up(this);
      this.drag = null;
    });
    c.addEventListener('mouseleave', () => { if (this.app.edit) this.app.edit.hoverAt(this, null); });
    c.addEventListener('mousemove', (e) => {
      if (!this.app.study) return;
      const { inside } = this.eventPixel(e);
      this.app.showHover(inside ? this.voxelOfEvent(e) : null);
      if (this.app.edit) this.app.edit.hoverAt(this, inside ? e : null);
      const d = this.drag;
      if (!d) return;
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      if (d.mode === 'window') this.app.setWindow(d.wl.center + dy * 2, Math.max(1, d.wl.width + dx * 4));
      else if (d.mode === 'pan') { this.pan = [d.pan[0] + dx, d.pan[1] + dy]; this.draw(); }
      else if (d.mode === 'cursor') this.moveCursor(e);
      else if (d.mode === 'edit') this.app.edit.move(this, e);
    });
  }

  moveCursor(e) {
    this.app.cursor = this.voxelOfEvent(e);
    this.app.redraw();
  }
}
