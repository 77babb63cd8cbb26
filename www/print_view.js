// Layer viewer of the Print panel: a 2-D canvas with a scrubber (slider, and the arrow
// keys on the slider or the canvas). It draws the section (grey), the supports (green),
// the contours (blue) and the hatch vectors (red) of one layer, in plate millimetres with
// +y up. The worker makes the scan paths of the layer asked for only; while one is on
// its way, later requests are folded into the newest.

const $ = (id) => document.getElementById(id);

export class LayerView {
  constructor(canvas, request) {
    this.canvas = canvas;
    this.request = request;
    this.layers = 0;
    this.layer = 0;
    this.pending = false;
    this.wanted = null;
    this.last = null;
    const slider = $('print-layer-slider');
    slider.oninput = () => this.go(Number(slider.value));
    canvas.tabIndex = 0;
    canvas.onkeydown = (e) => {
      const step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1, PageUp: 10, PageDown: -10 }[e.key];
      if (step === undefined) return;
      e.preventDefault();
      this.go(this.layer + step);
    };
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  clear() {
    this.layers = 0;
    this.last = null;
    $('print-layer-slider').max = '0';
    $('print-layer-slider').disabled = true;
    $('print-layer-label').textContent = 'Slice the part to see its layers.';
    this.draw();
  }

  /** A new job of `layers` layers: keep the layer number when it still exists. */
  setJob(layers) {
    this.layers = layers;
    const slider = $('print-layer-slider');
    slider.max = String(Math.max(0, layers - 1));
    slider.disabled = layers === 0;
    this.go(Math.min(this.layer, layers - 1), true);
  }

  go(k, force = false) {
    if (!this.layers) return;
    const n = Math.max(0, Math.min(this.layers - 1, Math.round(k)));
    if (n === this.layer && !force && this.last) return;
    this.layer = n;
    $('print-layer-slider').value = String(n);
    if (this.pending) { this.wanted = n; return; }
    this.pending = true;
    this.request(n);
  }

  /** The worker's paths of one layer. */
  show(msg) {
    this.pending = false;
    this.last = msg;
    this.canvas.dataset.layer = String(msg.index);
    this.canvas.dataset.hatches = String(msg.hatches.length / 4);
    this.canvas.dataset.contours = String(msg.contour_counts.length);
    this.canvas.dataset.supports = String(msg.support_counts.length);
    $('print-layer-label').textContent = `Layer ${msg.index + 1} of ${msg.layers} · z = ${msg.z_top_mm.toFixed(3)} mm · hatch ${msg.hatch_angle_deg.toFixed(0)}° · ${msg.contour_counts.length} contour(s), ${msg.hatches.length / 4} hatch vectors`;
    this.draw();
    if (this.wanted !== null && this.wanted !== msg.index) {
      const w = this.wanted;
      this.wanted = null;
      this.pending = true;
      this.request(w);
    } else {
      this.wanted = null;
    }
  }

  draw() {
    const c = this.canvas;
    const r = c.getBoundingClientRect();
    c.width = Math.max(1, Math.round(r.width * devicePixelRatio));
    c.height = Math.max(1, Math.round(r.height * devicePixelRatio));
    const g = c.getContext('2d');
    g.fillStyle = '#111';
    g.fillRect(0, 0, c.width, c.height);
    const m = this.last;
    if (!m || !this.layers) return;
    const [x0, y0, x1, y1] = m.view_mm;
    const s = Math.min(c.width / (x1 - x0), c.height / (y1 - y0));
    const ox = (c.width - s * (x1 - x0)) / 2;
    const oy = (c.height - s * (y1 - y0)) / 2;
    const X = (x) => ox + (x - x0) * s;
    const Y = (y) => c.height - oy - (y - y0) * s;
    const polys = (xy, counts) => {
      const p = new Path2D();
      let at = 0;
      for (const n of counts) {
        for (let q = 0; q < n; q++) {
          const x = X(xy[2 * (at + q)]);
          const y = Y(xy[2 * (at + q) + 1]);
          if (q === 0) p.moveTo(x, y); else p.lineTo(x, y);
        }
        p.closePath();
        at += n;
      }
      return p;
    };
    g.fillStyle = '#555';
    g.fill(polys(m.section_xy, m.section_counts), 'evenodd');
    g.fillStyle = '#3a8a3a';
    g.fill(polys(m.support_xy, m.support_counts), 'evenodd');
    g.strokeStyle = 'rgba(230, 70, 60, 0.8)';
    g.lineWidth = Math.max(0.5, devicePixelRatio * 0.6);
    g.beginPath();
    const h = m.hatches;
    for (let n = 0; n < h.length; n += 4) {
      g.moveTo(X(h[n]), Y(h[n + 1]));
      g.lineTo(X(h[n + 2]), Y(h[n + 3]));
    }
    g.stroke();
    g.strokeStyle = '#5aa0ff';
    g.lineWidth = Math.max(1, devicePixelRatio);
    g.stroke(polys(m.contour_xy, m.contour_counts));
  }
}
