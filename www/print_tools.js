// Print panel: print preparation of the selected part or mesh object (selected in the
// Bones table or the Meshes panel). Orient (ranking, overhang colour map, hand rotation),
// Supports, Slice with the layer viewer, exports, estimates and the build job. Every
// action is one design op sent to the worker ('printop'), so it lands in the op log, the
// design link, undo/redo and replays on the other side of a design call. The 3-D print
// view shows the oriented part (build space, placed at the middle of the study) through
// the viewer's part API; the Meshes panel draws its scene again when it is turned off.
import { LayerView } from './print_view.js';
import { MarkTools } from './mark_tools.js';

const $ = (id) => document.getElementById(id);
const fmt = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const hms = (s) => {
  const t = Math.round(s);
  return `${Math.floor(t / 3600)}:${String(Math.floor(t / 60) % 60).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
};
/** Viewer labels of the print view's pieces (clear of part labels, below mesh objects). */
const PRINT_LABEL = 200;

export class PrintTools {
  constructor(app, isoHu) {
    this.app = app;
    this.isoHu = isoHu;
    this.state = null; // the worker's print report
    this.scene = null; // oriented part split by overhang class, and supports
    this.previewPending = false;
    this.previewWanted = null;
    this.view = new LayerView($('print-canvas'), (k) => this.requestLayer(k));
    this.marks = new MarkTools(app, isoHu);
    this.bind();
  }

  bind() {
    $('print-orient').onclick = () => this.orient(0, [0, 0, 0], false);
    $('print-apply-rotation').onclick = () => this.orient(this.state.oriented.rank, this.rotation());
    for (const id of ['print-rx', 'print-ry', 'print-rz']) {
      $(id).oninput = () => { this.showRotation(); this.preview(); };
    }
    $('print-supports').onclick = () => this.apply(this.supportsOp());
    $('print-slice').onclick = () => this.apply({ op: 'slice_print', scan: this.scan() });
    $('print-plate').onclick = () => this.apply({
      op: 'build_plate', sizes_percent: $('print-sizes').value.split(',').map((s) => Number(s.trim())),
      coupons: Math.round(Number($('print-coupons').value)), spacing_mm: 10, margin_mm: 5, machine_mm: [250, 250, 300], scan: this.scan(),
      // Each size carries supports made like the part's, when the part has them.
      supports: !!(this.state && this.state.supports),
    });
    $('print-show3d').onchange = () => this.draw3d();
    $('print-source').onchange = () => this.showJob();
    const exp = (kind, ext) => () => {
      const plate = this.plateShown();
      const job = this.job();
      if (!job) return;
      const layer = this.view.layer;
      const name = kind === 'svg' ? `${job.name}_layer_${String(layer).padStart(5, '0')}.svg` : `${job.name}${kind === 'cli_binary' ? '_binary' : ''}.${ext}`;
      this.app.setStatus('Exporting…', 'busy');
      this.app.worker.postMessage({ type: 'printexport', kind, plate, layer, name });
    };
    $('print-export-gcode').onclick = exp('gcode', 'gcode');
    $('print-export-cli').onclick = exp('cli', 'cli');
    $('print-export-clib').onclick = exp('cli_binary', 'cli');
    $('print-export-svg').onclick = exp('svg', 'svg');
    $('print-export-supports').onclick = () => this.app.worker.postMessage({ type: 'printexport', kind: 'supports_stl', plate: false, layer: 0, name: 'supports.stl' });
    $('print-export-plate').onclick = () => this.app.worker.postMessage({ type: 'printexport', kind: 'plate_3mf', plate: true, layer: 0, name: 'plate.3mf' });
  }

  critical() { return Number($('print-critical').value); }

  rotation() { return ['print-rx', 'print-ry', 'print-rz'].map((id) => Number($(id).value)); }

  showRotation() {
    $('print-rotation-text').textContent = this.rotation().map((a) => `${a}°`).join(', ');
  }

  scan() {
    const n = (id) => Number($(id).value);
    return {
      layer_um: n('print-layer'), hatch_spacing_um: n('print-hatch'), laser_power_w: n('print-power'), scan_speed_mm_s: n('print-speed'),
      contour_count: Math.round(n('print-contours')), beam_offset_um: n('print-offset'), chessboard: $('print-pattern').value === 'chessboard',
      size_mm: $('print-pattern').value === 'chessboard' ? 5 : 10, rotation_deg: n('print-rotation'),
      outline_tolerance_um: n('print-outline'),
    };
  }

  /** The part or mesh object selected in the Bones table or the Meshes panel. */
  target() {
    const s = this.app.meshTools.selected;
    if (!s) return null;
    return s.part !== undefined ? { part: s.part } : { mesh: s.mesh };
  }

  /** Orients the selection (Orient) or, for a ranking row or the hand rotation, the part already oriented. */
  orient(rank, rotate, again = true) {
    const o = this.state && this.state.oriented;
    const t = again && o ? o.target : this.target();
    if (!t) { this.app.setStatus('Select a part (click its row under Bones) or a mesh object to print.', 'needs-input'); return; }
    this.apply({
      op: 'orient_print', target: t, iso_hu: this.isoHu, critical_angle_deg: this.critical(),
      directions: Math.round(Number($('print-directions').value)), weights: [1, 0.5, 100], rank, rotate_deg: rotate,
    });
  }

  apply(op) {
    if (!this.app.study) return;
    this.app.setStatus('Preparing the print…', 'busy');
    this.app.worker.postMessage({ type: 'printop', op });
  }

  /** A new study: nothing prepared. */
  reset() {
    this.state = null;
    this.scene = null;
    this.marks.scene = null;
    this.marks.setMode(null);
    $('print-panel').hidden = false;
    this.view.clear();
    this.render();
  }

  /** The print state after a print op (with `seg`), undo, redo or replay. */
  onPrint(msg) {
    const app = this.app;
    this.state = msg.state;
    this.scene = msg.scene;
    if (msg.seg) {
      app.idle();
      app.seg = msg.seg;
      if (app.design) {
        app.design.ops = [app.design.ops[0], ...msg.seg.ops];
        app.updateLink();
      }
      app.renderPartsTable();
    }
    const o = this.state.oriented;
    if (o) {
      ['print-rx', 'print-ry', 'print-rz'].forEach((id, n) => { $(id).value = String(o.rotate_deg[n]); });
      this.showRotation();
    }
    this.render();
    this.showJob();
    this.draw3d();
    if (msg.seg) app.setStatus(this.summary(msg.seg.ops[msg.seg.ops.length - 1]), 'ready');
  }

  /** The supports op; block walls pin their options (same defaults as `print::block_supports`). */
  supportsOp() {
    const spacing = Number($('print-spacing').value);
    const style = $('print-style').value;
    const op = {
      op: 'print_supports', critical_angle_deg: this.critical(), spacing_mm: spacing,
      tip_radius_mm: 0.25, base_fraction: 0.4, sides: 8, penetration_mm: 0.1, articular_clearance_mm: 0.5, min_gap_mm: 0.2,
      style,
    };
    if (style === 'block') {
      op.block = {
        spacing_mm: Math.min(5, spacing), wall_mm: 0.25, tooth_pitch_mm: 0.5, tooth_height_mm: 0.4,
        perforations: true, hole_height_mm: 0.6, hole_pitch_mm: 1.2,
      };
    }
    return op;
  }

  summary(op) {
    const s = this.state;
    switch (op && op.op) {
      case 'orient_print': return `Oriented ${s.oriented.name}: ${fmt(s.oriented.supported_area_mm2, 0)} mm² to support, ${fmt(s.oriented.height_mm, 1)} mm high.`;
      case 'print_supports': return `${s.supports.count} ${s.supports.style === 'block' ? 'block walls' : 'supports'}, ${fmt(s.supports.volume_mm3, 0)} mm³, contact ${fmt(s.supports.contact_area_mm2, 1)} mm².`;
      case 'slice_print': return `Sliced: ${s.sliced.layers} layers of ${s.sliced.layer_um} µm, build time ${hms(s.sliced.estimate.build_time_s)}.`;
      case 'build_plate': return `Build job: ${s.plate.objects.length} objects${s.plate.supports.length ? ` (each size with its supports)` : ''}, ${s.plate.job.layers} layers, build time ${hms(s.plate.job.estimate.build_time_s)}.`;
      default: return 'Print preparation updated.';
    }
  }

  /** Hand rotation preview: the map for the slider angles, without recording an op. */
  preview() {
    const o = this.state && this.state.oriented;
    if (!o) return;
    this.previewWanted = { rank: o.rank, r: this.rotation() };
    if (this.previewPending) return;
    this.previewPending = true;
    this.app.worker.postMessage({ type: 'printpreview', ...this.previewWanted });
    this.previewWanted = null;
  }

  onPreview(msg) {
    this.previewPending = false;
    this.scene = msg;
    $('print-preview-text').textContent = `preview: ${fmt(msg.supported_area_mm2, 0)} mm² to support, ${fmt(msg.height_mm, 1)} mm high — Apply to record it`;
    $('print-preview-text').dataset.area = String(msg.supported_area_mm2);
    this.draw3d();
    if (this.previewWanted) this.preview();
  }

  plateShown() { return $('print-source').value === 'plate'; }

  job() {
    const s = this.state;
    if (!s) return null;
    return this.plateShown() ? (s.plate && s.plate.job) : s.sliced;
  }

  /** The layer viewer and estimates of the job picked (part or plate). */
  showJob() {
    const job = this.job();
    const est = $('print-estimate');
    est.replaceChildren();
    for (const id of ['print-export-gcode', 'print-export-cli', 'print-export-clib', 'print-export-svg']) $(id).disabled = !job;
    if (!job) { this.view.clear(); return; }
    const e = job.estimate;
    const rows = [
      ['Layers', `${job.layers} × ${job.layer_um} µm (${fmt(e.build_height_mm, 2)} mm)`],
      ['Scan length', `${fmt((e.contour_length_mm + e.hatch_length_mm) / 1000, 1)} m (contours ${fmt(e.contour_length_mm / 1000, 1)} m, hatches ${fmt(e.hatch_length_mm / 1000, 1)} m)`],
      ['Build time', `${hms(e.build_time_s)} (scan ${hms(e.scan_time_s)}, jumps ${hms(e.jump_time_s)}, recoat ${hms(e.recoat_time_s)})`],
      ['Part', `${fmt(e.part_volume_mm3 / 1000, 2)} cm³, ${fmt(e.part_mass_g, 1)} g Ti-6Al-4V`],
      ['Supports', e.support_mass_g == null ? 'none' : `${fmt(e.support_volume_mm3 / 1000, 2)} cm³, ${fmt(e.support_mass_g, 1)} g`],
      ['Powder', `${fmt(e.powder_needed_g / 1000, 2)} kg (full plate ${fmt(e.powder_full_plate_g / 1000, 2)} kg)`],
    ];
    if (e.enclosed_cavities.length) rows.push(['Trapped powder', `${e.enclosed_cavities.length} enclosed cavit${e.enclosed_cavities.length === 1 ? 'y' : 'ies'}: add an escape hole`]);
    for (const w of e.warnings) rows.push(['Warning', w]);
    for (const [k, v] of rows) {
      est.append(Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v }));
    }
    est.dataset.layers = String(job.layers);
    est.dataset.buildTime = String(e.build_time_s);
    this.view.setJob(job.layers);
  }

  requestLayer(k) {
    if (!this.job()) return;
    this.app.worker.postMessage({ type: 'printlayer', plate: this.plateShown(), k });
  }

  onLayer(msg) { this.view.show(msg); }

  /** The print view in 3-D: the oriented part coloured by overhang class, and the supports. */
  draw3d() {
    const app = this.app;
    const on = $('print-show3d').checked && this.scene && app.study;
    if (!on) {
      if (this.shown3d) { this.shown3d = false; app.meshTools.drawScene(); }
      return;
    }
    this.shown3d = true;
    const s = this.scene;
    // Build space, placed with its plate centre at the middle of the study.
    const { dims, patient_from_voxel: m } = app.study;
    const [i, j, k] = dims.map((n) => (n - 1) / 2);
    const c = [0, 1, 2].map((a) => m[a] * i + m[4 + a] * j + m[8 + a] * k + m[12 + a]);
    const o = this.state && this.state.oriented;
    const dz = c[2] - (o ? o.size_mm[2] / 2 : 0);
    const pos = new Float32Array(s.positions.length);
    for (let n = 0; n < pos.length; n += 3) {
      pos[n] = s.positions[n] + c[0];
      pos[n + 1] = s.positions[n + 1] + c[1];
      pos[n + 2] = s.positions[n + 2] + dz;
    }
    const labels = Uint8Array.from(s.vertex_counts, (_, n) => PRINT_LABEL + n);
    app.viewer.setParts(pos, s.indices, s.vertex_counts, s.index_counts, s.colours, labels);
    app.draw3d();
  }

  /**
   * The supports' warnings in `el`: one line per kind (dozens of tiny regions read as one
   * line), every region on demand in a <details> list.
   */
  renderWarnings(el, sup) {
    el.replaceChildren();
    el.hidden = !sup || !sup.warnings.length;
    el.dataset.count = sup ? String(sup.warnings.length) : '0';
    if (el.hidden) return;
    const summary = document.createElement('p');
    summary.className = 'warning-summary';
    summary.textContent = `Warning${sup.warning_summary.length > 1 ? 's' : ''}: ${sup.warning_summary.join('; ')}.`;
    el.append(summary);
    if (sup.warnings.length > sup.warning_summary.length) {
      const details = document.createElement('details');
      const head = Object.assign(document.createElement('summary'), { textContent: `All ${sup.warnings.length} warnings` });
      const list = document.createElement('ul');
      for (const w of sup.warnings) list.append(Object.assign(document.createElement('li'), { textContent: w }));
      details.append(head, list);
      el.append(details);
    }
  }

  /** What the orientation did with the joint surfaces. */
  articularText(o) {
    if (!o.articular_triangles) return 'Joint surfaces: none are marked on this part, so the search treats every face alike. Mark them above before orienting.';
    const down = o.articular_down_area_mm2;
    const needs = o.articular_overhang_area_mm2;
    return `Joint surfaces: ${o.articular_triangles.toLocaleString()} faces (${fmt(o.articular_area_mm2, 0)} mm²) kept facing up where possible; ${fmt(down, 0)} mm² of them look down${needs > 0 ? `, ${fmt(needs, 0)} mm² steeply enough to need support (left unsupported: shown orange)` : ''}. Supports keep clear of them.`;
  }

  render() {
    const s = this.state || {};
    const sel = this.target();
    const name = sel ? (sel.part !== undefined
      ? (this.app.seg && this.app.seg.parts.find((p) => p.label === sel.part) || {}).name
      : (this.app.meshTools.selectedObject() || {}).name) : null;
    $('print-target').textContent = name ? `To print: ${name}` : 'Select a part (click its row under Bones) or a mesh object to print.';
    $('print-orient').disabled = !sel;
    const o = s.oriented;
    const art = $('print-articular');
    const now = o && this.marks.marksOf(o.target);
    const stale = o && (now ? now.faces : 0) !== o.articular_triangles;
    art.textContent = o ? `${this.articularText(o)}${stale ? ' The marks have changed since: press Orient again to use them.' : ''}` : '';
    art.dataset.faces = o ? String(o.articular_triangles) : '';
    art.dataset.down = o ? String(o.articular_down_area_mm2) : '';
    this.marks.render();
    const table = $('print-ranking').querySelector('tbody');
    table.replaceChildren();
    if (o) {
      o.ranked.forEach((c, n) => {
        const tr = document.createElement('tr');
        tr.classList.toggle('selected', n === o.rank);
        tr.dataset.rank = String(n);
        for (const v of [n + 1, c.up.map((x) => x.toFixed(2)).join(', '), fmt(c.score, 3), fmt(c.supported_area_mm2, 0), fmt(c.height_mm, 1)]) {
          tr.append(Object.assign(document.createElement('td'), { textContent: v }));
        }
        tr.title = 'Use this build direction';
        tr.onclick = () => this.orient(n, this.rotation());
        table.append(tr);
      });
      $('print-orient-report').textContent = `${o.name}: ${o.triangles.toLocaleString()} triangles, ${o.searched} directions searched; supported area ${fmt(o.as_given.supported_area_mm2, 0)} mm² as given → ${fmt(o.supported_area_mm2, 0)} mm²; height ${fmt(o.height_mm, 1)} mm; size ${o.size_mm.map((v) => v.toFixed(1)).join(' × ')} mm.`;
      $('print-orient-report').dataset.area = String(o.supported_area_mm2);
    } else {
      $('print-orient-report').textContent = 'Not oriented yet.';
    }
    $('print-ranking').hidden = !o;
    $('print-preview-text').textContent = '';
    for (const id of ['print-apply-rotation', 'print-supports', 'print-slice', 'print-plate', 'print-rx', 'print-ry', 'print-rz']) $(id).disabled = !o;
    const sup = s.supports;
    const what = sup && sup.style === 'block' ? 'block walls' : 'supports';
    $('print-supports-report').textContent = sup
      ? `${sup.count} ${what} (${sup.on_plate} on the plate): volume ${fmt(sup.volume_mm3, 1)} mm³, contact on the part ${fmt(sup.contact_area_mm2, 2)} mm², under ${fmt(sup.supported_area_mm2, 1)} mm² of overhang${o && o.articular_triangles ? '; none on the marked joint surfaces' : ''}.`
      : '';
    this.renderWarnings($('print-supports-warnings'), sup);
    $('print-supports-report').dataset.style = sup ? sup.style : '';
    $('print-supports-report').dataset.count = sup ? String(sup.count) : '';
    $('print-export-supports').disabled = !sup || !sup.count;
    $('print-export-plate').disabled = !s.plate;
    const plate = s.plate;
    $('print-plate-report').textContent = plate
      ? `On the plate: ${plate.objects.join(', ')}.${plate.supports.length ? ` Supports under the sizes: ${plate.supports.join(' / ')} ${sup && sup.style === 'block' ? 'walls' : 'cones'}.` : ' No supports under the sizes (make supports first to give each size its own).'}`
      : '';
    $('print-plate-report').dataset.supports = plate ? plate.supports.join(',') : '';
  }
}
