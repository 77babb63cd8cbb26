// Mesh panel: select a part (click its row in the Bones table) or a mesh object, then
// Mirror / Register to… / Smooth (Taubin, Laplacian, Gaussian, flatten osteophytes, brush
// at the point picked in the 3-D view) / Remesh / Decimate / Repair / Compare to… /
// Delete; Measure reads the selection's measurements (no op). Every action is one design
// op sent to the worker ('meshop'), so it lands in the op log, the design link, undo/redo
// and replays on the other side of a design call. Mesh objects are shown in the 3-D view
// through the viewer's part API, after the calculated parts.

const $ = (id) => document.getElementById(id);

/** A safe file name: "left talus (mirrored)" -> "left_talus_mirrored". */
function fileName(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'mesh';
}

/** Viewer label of the n-th mesh object: counted down from 255 so they stay clear of part labels. */
const meshLabel = (n) => 255 - n;

const fmt = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

/** Colours of the deviation map, from −range (inside the reference, blue) to +range (outside, red). */
const DEVIATION_COLOURS = [
  [49, 54, 149], [69, 117, 180], [116, 173, 209], [171, 217, 233], [240, 240, 240],
  [253, 174, 97], [244, 109, 67], [215, 48, 39], [165, 0, 38],
];

/**
 * Half-width of the deviation colour scale (mm): twice the RMS distance (at most the
 * largest), rounded up to 1, 2 or 5 × 10^k; farther vertices take the end colours.
 */
function deviationRange(summary) {
  const m = Math.max(Math.min(2 * summary.rms_mm, summary.max_mm), 1e-3);
  const p = 10 ** Math.floor(Math.log10(m));
  return [1, 2, 5, 10].map((f) => f * p).find((r) => r >= m);
}

/** The number in input `id` (NaN when it holds none: the worker refuses it with the allowed range). */
const num = (id) => Number($(id).value);

export class MeshTools {
  constructor(app, isoHu) {
    this.app = app;
    this.isoHu = isoHu;
    this.parts = null; // the last 'parts' message: part surfaces as the worker sent them
    this.partsShown = false; // whether those surfaces are still valid (and in the 3-D view)
    this.meshes = null; // the last 'meshes' message
    this.selected = null; // { part: label } or { mesh: id }
    this.hidden = new Set(); // ids of mesh objects hidden in the 3-D view
    this.measured = null; // { target, sha, m }: the last measurements (Measure) and the STL digest they belong to
    this.bind();
    this.showSmoothParams();
  }

  bind() {
    $('mesh-mirror').onclick = () => this.mirror();
    $('mesh-register').onclick = () => this.register();
    $('mesh-smooth').onclick = () => this.smooth();
    $('mesh-smooth-mode').onchange = () => this.showSmoothParams();
    $('mesh-repair').onclick = () => this.apply({
      op: 'repair_mesh', target: this.ref(), iso_hu: this.isoHu, weld_tolerance_mm: 1e-6,
      max_hole_edges: Math.round(num('mesh-repair-hole')),
    });
    $('mesh-compare').onclick = () => {
      const reference = this.refOf($('mesh-compare-target').value);
      if (reference) this.apply({ op: 'compare_meshes', measured: this.ref(), reference, iso_hu: this.isoHu });
    };
    $('mesh-measure').onclick = () => {
      if (!this.selected) return;
      this.app.setStatus('Measuring…', 'busy');
      const o = this.selectedObject();
      this.app.worker.postMessage({ type: 'meshmeasure', target: this.ref(), sha: o ? o.report.stl_sha256 : null });
    };
    $('mesh-remesh').onclick = () => this.apply({
      op: 'remesh_mesh', target: this.ref(), target_edge_mm: Number($('mesh-remesh-edge').value),
      max_deviation_mm: Number($('mesh-deviation').value), iso_hu: this.isoHu,
    });
    $('mesh-decimate').onclick = () => this.apply({
      op: 'decimate_mesh', target: this.ref(), target_triangles: Math.round(Number($('mesh-decimate-n').value)),
      max_deviation_mm: Number($('mesh-deviation').value), iso_hu: this.isoHu,
    });
    $('mesh-delete').onclick = () => {
      if (this.selected && this.selected.mesh !== undefined) this.apply({ op: 'delete_mesh', id: this.selected.mesh });
    };
    $('mesh-export-3mf').onclick = () => this.app.worker.postMessage({ type: 'meshexport', kind: '3mf', name: 'design.3mf' });
  }

  /** A new study: nothing calculated, nothing selected. */
  reset() {
    this.parts = null;
    this.partsShown = false;
    this.meshes = null;
    this.selected = null;
    this.hidden.clear();
    $('mesh-panel').hidden = false;
    this.render();
  }

  /** The surface the actions apply to. */
  ref() {
    const s = this.selected;
    return s.part !== undefined ? { part: s.part } : { mesh: s.mesh };
  }

  /** A surface from a select option value ("part:3" or "mesh:1"), or null. */
  refOf(value) {
    if (!value) return null;
    const [kind, n] = value.split(':');
    return kind === 'part' ? { part: Number(n) } : { mesh: Number(n) };
  }

  /** Shows the settings of the chosen smoothing method only. */
  showSmoothParams() {
    const mode = $('mesh-smooth-mode').value;
    for (const span of $('mesh-smooth-params').querySelectorAll('[data-modes]')) span.hidden = !span.dataset.modes.split(' ').includes(mode);
  }

  /** Smooth with the chosen method; the brush smooths around the point last picked on the selection in the 3-D view. */
  smooth() {
    const mode = $('mesh-smooth-mode').value;
    const iterations = Math.round(num('mesh-smooth-n'));
    const lambda = num('mesh-smooth-lambda');
    const mu = num('mesh-smooth-mu');
    const base = { target: this.ref(), iso_hu: this.isoHu };
    if (mode === 'taubin') {
      this.apply({ op: 'smooth_mesh', ...base, iterations, lambda, mu });
      return;
    }
    let method;
    if (mode === 'laplacian') method = { laplacian: { iterations, lambda } };
    else if (mode === 'gaussian') method = { gaussian: { sigma_mm: num('mesh-smooth-sigma'), iterations: Math.round(num('mesh-smooth-passes')) } };
    else if (mode === 'flatten') {
      // Reference steps, rounds and step size at the kernel's usual values (mesh::smooth).
      method = { flatten: { threshold_mm: num('mesh-flatten-threshold'), tolerance_mm: num('mesh-flatten-tolerance'), reference_iterations: 60, rounds: 10, step: 0.7 } };
    } else {
      const p = this.app.picked;
      const s = this.selected;
      const onSelection = p && s && (s.mesh !== undefined ? p.mesh === s.mesh : p.label === s.part);
      if (!onSelection) {
        this.app.setStatus('Brush smoothing: click the selected surface in the 3-D view to place the brush, then Smooth.', 'error');
        return;
      }
      method = { brush: { stroke_mm: [p.point_mm], radius_mm: num('mesh-brush-radius'), iterations, lambda, mu } };
    }
    this.apply({ op: 'smooth_mesh_by', ...base, method });
  }

  apply(op) {
    if (!this.app.study || !this.selected) return;
    this.app.setStatus('Working on the mesh…', 'busy');
    this.app.worker.postMessage({ type: 'meshop', op });
  }

  /** Patient x (mm) of the middle of the volume, to 0.1 mm: the default sagittal mid-plane. */
  midX() {
    const { dims, patient_from_voxel: m } = this.app.study;
    const [i, j, k] = dims.map((n) => (n - 1) / 2);
    const x = Math.round((m[0] * i + m[4] * j + m[8] * k + m[12]) * 10) / 10;
    return x === 0 ? 0 : x;
  }

  mirror() {
    const plane = $('mesh-plane').value === 'fitted' ? 'fitted' : { sagittal: { x_mm: this.midX() } };
    this.apply({ op: 'mirror_mesh', source: this.ref(), plane, iso_hu: this.isoHu });
  }

  register() {
    const v = $('mesh-register-target').value;
    if (!v) return;
    const fixed = this.refOf(v);
    const follow = [...$('mesh-follow').selectedOptions].map((o) => Number(o.value));
    this.apply({ op: 'register_mesh', moving: this.ref(), fixed, follow, iso_hu: this.isoHu });
  }

  select(sel) {
    this.selected = sel;
    this.app.renderPartsTable();
    this.render();
    this.syncHighlight();
  }

  /** The selection glows in the 3-D view. */
  syncHighlight() {
    const s = this.selected;
    let label;
    if (s && s.part !== undefined) label = s.part;
    else if (s && this.meshes) {
      const n = this.meshes.objects.findIndex((o) => o.id === s.mesh);
      if (n >= 0) label = meshLabel(n);
    }
    this.app.viewer.setHighlight(label);
    if (this.app.study) this.app.draw3d();
  }

  /** Viewer label of a part ({part}) or mesh object ({mesh}) drawn in the 3-D view, or null. */
  viewerLabel(t) {
    if (t.part !== undefined) return this.partsShown && this.parts && this.parts.parts.some((p) => p.label === t.part) ? t.part : null;
    const n = this.meshes ? this.meshes.objects.findIndex((o) => o.id === t.mesh) : -1;
    return n >= 0 ? meshLabel(n) : null;
  }

  /** The mesh object drawn with viewer label `label`, or null. */
  objectOfLabel(label) {
    const objects = this.meshes ? this.meshes.objects : [];
    const n = 255 - label;
    return label > 0 && n >= 0 && n < objects.length ? objects[n] : null;
  }

  isSelected(sel) {
    const s = this.selected;
    return !!s && s.part === sel.part && s.mesh === sel.mesh;
  }

  /** Hook from the Bones table: a row click selects the part. */
  decoratePartRow(tr, part) {
    tr.classList.toggle('selected', this.isSelected({ part: part.label }));
    tr.onclick = (e) => {
      if (e.target.closest('button, input')) return;
      this.select({ part: part.label });
    };
  }

  /** The worker calculated the part surfaces. */
  onParts(msg) {
    this.parts = msg;
    this.partsShown = true;
    this.drawScene();
    this.render();
  }

  /** A segmentation report arrived: the app has cleared the part surfaces of the 3-D view. */
  onSegmentation(report) {
    // Only a change of the labels makes the part surfaces stale; the 3-D view is redrawn
    // only when it showed them (an edit must not wait for a 3-D frame).
    const wasShown = this.partsShown;
    this.partsShown = false;
    if (this.measured && this.measured.target.part !== undefined) this.measured = null;
    if (this.selected && this.selected.part !== undefined && !report.parts.some((p) => p.label === this.selected.part)) {
      this.selected = null;
    }
    if (wasShown) this.drawScene();
    this.render();
  }

  /** The mesh objects, after a mesh op (with its segmentation report), undo, redo or replay. */
  onMeshes(msg) {
    const app = this.app;
    const before = new Set(this.meshes ? this.meshes.objects.map((o) => o.id) : []);
    this.meshes = msg;
    if (msg.seg) {
      app.idle();
      app.setSegReport(msg.seg);
      if (app.design) {
        app.design.ops = [app.design.ops[0], ...msg.seg.ops];
        app.updateLink();
      }
    }
    // The worker keeps the part surfaces across mesh ops and their undo.
    if (!msg.parts_calculated) {
      this.parts = null;
      this.partsShown = false;
    } else if (this.parts && !this.partsShown) {
      this.partsShown = true;
      app.surfaceInfo = new Map(this.parts.parts.map((p) => [p.label, p]));
    }
    const created = msg.objects.find((o) => !before.has(o.id));
    if (msg.seg && created) this.selected = { mesh: created.id };
    if (this.selected && this.selected.mesh !== undefined && !msg.objects.some((o) => o.id === this.selected.mesh)) {
      this.selected = null;
    }
    app.renderPartsTable();
    this.drawScene();
    this.render();
    const last = msg.seg && msg.seg.ops[msg.seg.ops.length - 1];
    if (last && last.op === 'compare_meshes' && msg.deviation) {
      const d = msg.deviation.summary;
      app.setStatus(`Compared ${d.measured_name} with ${d.reference_name}: RMS ${fmt(d.rms_mm, 3)} mm, Hausdorff ${fmt(d.hausdorff_mm, 3)} mm.`, 'ready');
    } else if (msg.seg) {
      const o = this.selectedObject();
      app.setStatus(o ? `${o.name}: ${o.report.history[o.report.history.length - 1]}.` : `${msg.objects.length} mesh object(s).`, 'ready');
    }
  }

  selectedObject() {
    const s = this.selected;
    if (!s || s.mesh === undefined || !this.meshes) return null;
    return this.meshes.objects.find((o) => o.id === s.mesh) || null;
  }

  /** Parts (while valid) and mesh objects in one call of the viewer's part API. */
  drawScene() {
    const app = this.app;
    const lists = [];
    if (this.partsShown && this.parts) {
      const p = this.parts;
      const colours = [];
      const labels = [];
      for (const info of p.parts) {
        const part = app.seg && app.seg.parts.find((q) => q.label === info.label);
        colours.push(...(part ? part.colour : [200, 200, 200]));
        labels.push(info.label);
      }
      lists.push({ ...p, colours, labels });
    }
    if (this.meshes && this.meshes.objects.length) {
      const m = this.meshes;
      lists.push({
        ...m,
        colours: m.objects.flatMap((o) => o.colour),
        labels: m.objects.map((_, n) => meshLabel(n)),
      });
    }
    const size = (k) => lists.reduce((a, l) => a + l[k].length, 0);
    const positions = new Float32Array(size('positions'));
    const indices = new Uint32Array(size('indices'));
    let [pv, pi] = [0, 0];
    for (const l of lists) {
      positions.set(l.positions, pv);
      indices.set(l.indices, pi);
      pv += l.positions.length;
      pi += l.indices.length;
    }
    const cat = (k, T) => T.from(lists.flatMap((l) => [...l[k]]));
    app.viewer.setParts(positions, indices, cat('vertex_counts', Uint32Array), cat('index_counts', Uint32Array),
      cat('colours', Uint8Array), cat('labels', Uint8Array));
    if (this.meshes) {
      this.meshes.objects.forEach((o, n) => { if (this.hidden.has(o.id)) app.viewer.setPartVisible(meshLabel(n), false); });
    }
    // Articular marks, drawn over the surfaces they belong to, whose labels may have changed (mark_tools.js).
    if (app.printTools) app.printTools.marks.drawMarks();
    this.syncHighlight();
  }

  render() {
    const objects = this.meshes ? this.meshes.objects : [];
    const body = $('mesh-table').querySelector('tbody');
    body.replaceChildren();
    objects.forEach((o, n) => {
      const tr = document.createElement('tr');
      tr.dataset.id = o.id;
      tr.dataset.sha = o.report.stl_sha256;
      tr.classList.toggle('selected', this.isSelected({ mesh: o.id }));
      tr.onclick = (e) => { if (!e.target.closest('button, input')) this.select({ mesh: o.id }); };
      const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
      swatch.style.background = `rgb(${o.colour.join(',')})`;
      const show = Object.assign(document.createElement('input'), { type: 'checkbox', checked: !this.hidden.has(o.id) });
      show.onchange = () => {
        if (show.checked) this.hidden.delete(o.id); else this.hidden.add(o.id);
        this.app.viewer.setPartVisible(meshLabel(n), show.checked);
        this.app.draw3d();
      };
      const stl = Object.assign(document.createElement('button'), { textContent: 'STL', title: 'Export this mesh object as binary STL' });
      stl.onclick = () => this.app.worker.postMessage({ type: 'meshexport', kind: 'stl', id: o.id, name: `${fileName(o.name)}.stl` });
      const share = Object.assign(document.createElement('button'), { textContent: 'Link', title: 'Copy an implant-only link: this mesh and no anatomy, for someone without the CT' });
      share.onclick = () => this.app.worker.postMessage({ type: 'meshlink', id: o.id });
      const del = Object.assign(document.createElement('button'), { textContent: '×', title: 'Delete this mesh object' });
      del.onclick = () => { this.selected = { mesh: o.id }; this.apply({ op: 'delete_mesh', id: o.id }); };
      const cells = [swatch, o.name, (o.report.volume_mm3 / 1000).toFixed(2), (o.report.area_mm2 / 100).toFixed(1), show, [stl, share, del]];
      for (const c of cells) {
        const td = document.createElement('td');
        if (Array.isArray(c)) td.append(...c); else if (c instanceof Node) td.append(c); else td.textContent = c;
        tr.append(td);
      }
      body.append(tr);
    });
    $('mesh-empty').hidden = objects.length > 0;
    this.renderTargets(objects);
    this.renderReport();
    const sel = this.selected;
    for (const id of ['mesh-mirror', 'mesh-register', 'mesh-smooth', 'mesh-remesh', 'mesh-decimate', 'mesh-repair', 'mesh-measure']) $(id).disabled = !sel;
    $('mesh-register').disabled = !sel || !$('mesh-register-target').value;
    $('mesh-compare').disabled = !sel || !$('mesh-compare-target').value;
    this.renderDeviation();
    this.renderMeasurements();
    $('mesh-delete').disabled = !sel || sel.mesh === undefined;
    $('mesh-export-3mf').disabled = !objects.length && !this.partsShown;
  }

  /** Register targets: every part and mesh object but the selection; followers: mesh objects. */
  renderTargets(objects) {
    const parts = this.app.seg ? this.app.seg.parts : [];
    const target = $('mesh-register-target');
    const keep = target.value;
    const options = [
      ...parts.filter((p) => !this.isSelected({ part: p.label })).map((p) => [`part:${p.label}`, p.name]),
      ...objects.filter((o) => !this.isSelected({ mesh: o.id })).map((o) => [`mesh:${o.id}`, o.name]),
    ];
    for (const [select, kept] of [[target, keep], [$('mesh-compare-target'), $('mesh-compare-target').value]]) {
      select.replaceChildren(...options.map(([value, text]) => Object.assign(document.createElement('option'), { value, textContent: text })));
      if (options.some(([v]) => v === kept)) select.value = kept;
    }
    const follow = $('mesh-follow');
    const kept = new Set([...follow.selectedOptions].map((o) => o.value));
    follow.replaceChildren(...objects.filter((o) => !this.isSelected({ mesh: o.id })).map((o) => Object.assign(document.createElement('option'), {
      value: String(o.id), textContent: o.name, selected: kept.has(String(o.id)),
    })));
    follow.hidden = !follow.options.length;
    $('mesh-follow-label').hidden = follow.hidden;
  }

  renderReport() {
    const dl = $('mesh-report');
    dl.replaceChildren();
    for (const k of ['rms', 'overlap', 'sha', 'repaired']) delete dl.dataset[k];
    const sel = this.selected;
    let title = 'Select a part (click its row under Bones) or a mesh object.';
    const rows = [];
    if (sel && sel.part !== undefined) {
      const part = this.app.seg && this.app.seg.parts.find((p) => p.label === sel.part);
      title = `Part: ${part ? part.name : sel.part}`;
      const surf = this.app.surfaceInfo.get(sel.part);
      if (surf) {
        rows.push(['Triangles', surf.triangles.toLocaleString()], ['Volume', `${fmt(surf.volume_mm3, 0)} mm³`], ['Area', `${fmt(surf.area_mm2, 0)} mm²`]);
      } else if (part) {
        rows.push(['Volume (voxels)', `${fmt(part.volume_mm3, 0)} mm³`]);
      }
    }
    const o = this.selectedObject();
    if (o) {
      const r = o.report;
      title = `Mesh object: ${o.name}`;
      rows.push(['Triangles', r.triangles.toLocaleString()], ['Volume', `${fmt(r.volume_mm3, 0)} mm³`], ['Area', `${fmt(r.area_mm2, 0)} mm²`]);
      if (r.plane) {
        const p = r.plane;
        rows.push(['Plane', `${p.fitted ? 'fitted' : 'sagittal'}: normal ${p.normal.map((v) => v.toFixed(3)).join(', ')}, through ${p.point_mm.map((v) => v.toFixed(1)).join(', ')} mm`]);
        if (p.fitted) rows.push(['Plane fit', `RMS ${fmt(p.rms_mm, 2)} mm, overlap ${fmt(100 * p.overlap, 1)} %, asymmetry ${fmt(p.asymmetry_deg, 2)}°`]);
      }
      if (r.registration) {
        const g = r.registration;
        rows.push(['Registered onto', g.followed ? `${g.onto} (following ${g.followed})` : g.onto]);
        rows.push(['RMS', `${fmt(g.rms_mm, 3)} mm`], ['Overlap', `${fmt(100 * g.overlap, 1)} %`]);
        dl.dataset.rms = String(g.rms_mm);
        dl.dataset.overlap = String(g.overlap);
      }
      if (r.repair) {
        const check = (c) => (c.watertight ? `watertight, genus ${c.genus.join(', ')}` : `open: ${c.boundary_edges} boundary edges`)
          + `, ${c.non_manifold_edges} non-manifold edges, ${c.degenerate_triangles} degenerate and ${c.duplicate_triangles} duplicate triangles, ${c.components} component(s)`
          + (c.consistently_oriented ? '' : ', inconsistent winding') + (c.outward ? '' : ', inward');
        rows.push(['Before repair', check(r.repair.before)], ['After repair', check(r.repair.after)]);
        rows.push(['Repairs', r.repair.notes.length ? r.repair.notes.join('; ') : 'nothing needed repair']);
        dl.dataset.repaired = String(r.repair.after.watertight);
      }
      rows.push(['History', r.history.join('; ')]);
      rows.push(['STL SHA-256', r.stl_sha256]);
      dl.dataset.sha = r.stl_sha256;
    }
    $('mesh-selected').textContent = title;
    for (const [k, v] of rows) {
      dl.append(Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v }));
    }
  }

  /** The worker measured a surface (Measure). */
  onMeasure(msg) {
    this.measured = msg;
    this.app.idle();
    this.renderMeasurements();
    this.app.setStatus('Measured.', 'ready');
  }

  /** The measurements of the selection, while it is the surface that was measured. */
  renderMeasurements() {
    const dl = $('mesh-measurements');
    const m = this.measured;
    const s = this.selected;
    const current = m && s && m.target.part === s.part && m.target.mesh === s.mesh
      && (s.mesh === undefined || (this.selectedObject() || {}).report?.stl_sha256 === m.sha);
    dl.hidden = !current;
    dl.replaceChildren();
    if (!current) return;
    const r = m.m;
    const v3 = (v, d) => v.map((x) => x.toFixed(d)).join(', ');
    const extent = r.bbox_max_mm.map((x, i) => x - r.bbox_min_mm[i]);
    const rows = [
      ['Volume', `${fmt(r.volume_mm3, 0)} mm³`], ['Area', `${fmt(r.area_mm2, 0)} mm²`],
      ['Centroid', `${v3(r.centroid_mm, 1)} mm`],
      ...r.axes.map((a, i) => [`Axis ${i + 1}`, v3(a, 3)]),
      ['Bounding box', `${v3(extent, 1)} mm (from ${v3(r.bbox_min_mm, 1)} to ${v3(r.bbox_max_mm, 1)})`],
      ['Topology', r.check.watertight ? `watertight, genus ${r.check.genus.join(', ')}, ${r.check.components} component(s)`
        : `not watertight: ${r.check.boundary_edges} boundary edges, ${r.check.components} component(s)`],
    ];
    dl.dataset.volume = String(r.volume_mm3);
    dl.dataset.watertight = String(r.check.watertight);
    for (const [k, v] of rows) {
      dl.append(Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v }));
    }
  }

  /** Whether the deviation map belongs to the surface its measured object has now. */
  deviationCurrent() {
    const d = this.meshes && this.meshes.deviation;
    if (!d) return false;
    const t = d.summary.measured;
    if (t.mesh === undefined) return true;
    const o = this.meshes.objects.find((x) => x.id === t.mesh);
    return !!o && o.report.stl_sha256 === d.summary.measured_sha256;
  }

  /** Summary and colour legend of the last comparison. */
  renderDeviation() {
    const box = $('mesh-deviation-legend');
    const d = this.meshes && this.meshes.deviation;
    box.hidden = !d;
    box.replaceChildren();
    for (const k of ['mean', 'rms', 'max', 'hausdorff']) delete box.dataset[k];
    if (!d) return;
    const s = d.summary;
    const range = deviationRange(s);
    const text = document.createElement('p');
    text.textContent = `Deviation of ${s.measured_name} from ${s.reference_name} (${s.vertices.toLocaleString()} vertices): `
      + `mean ${fmt(s.mean_mm, 3)} mm (signed ${fmt(s.mean_signed_mm, 3)}), RMS ${fmt(s.rms_mm, 3)} mm, max ${fmt(s.max_mm, 3)} mm, `
      + `Hausdorff ${fmt(s.hausdorff_mm, 3)} mm${s.reference_closed ? '' : ' (the reference is open: the signs mean nothing)'}`
      + (this.deviationCurrent() ? '.' : '. The measured surface has changed since: compare again to see its colours.');
    const bar = Object.assign(document.createElement('div'), { className: 'bar', title: 'blue: inside the reference, red: outside' });
    bar.append(...DEVIATION_COLOURS.map((c) => {
      const span = document.createElement('span');
      span.style.background = `rgb(${c.join(',')})`;
      return span;
    }));
    const ticks = Object.assign(document.createElement('div'), { className: 'ticks' });
    ticks.append(...[-range, 0, range].map((v) => Object.assign(document.createElement('span'), { textContent: `${v > 0 ? '+' : ''}${v} mm` })));
    box.append(text, bar, ticks);
    Object.assign(box.dataset, { mean: String(s.mean_mm), rms: String(s.rms_mm), max: String(s.max_mm), hausdorff: String(s.hausdorff_mm) });
  }

  /**
   * The deviation map as the viewer's overlays over the measured surface: each triangle
   * coloured by the mean signed distance of its corners, in the bins of the legend.
   */
  deviationList(labelOf) {
    const d = this.meshes && this.meshes.deviation;
    if (!d || !this.deviationCurrent()) return null;
    const label = labelOf(d.summary.measured);
    if (label === null) return null;
    const range = deviationRange(d.summary);
    const nb = DEVIATION_COLOURS.length;
    const { positions: P, indices: I, values: V } = d;
    const nv = P.length / 3;
    const bins = DEVIATION_COLOURS.map(() => ({ remap: new Int32Array(nv).fill(-1), pos: [], idx: [] }));
    for (let t = 0; t < I.length; t += 3) {
      const v = (V[I[t]] + V[I[t + 1]] + V[I[t + 2]]) / 3;
      const bin = bins[Math.min(nb - 1, Math.max(0, Math.floor(((v + range) / (2 * range)) * nb)))];
      for (let c = 0; c < 3; c++) {
        const i = I[t + c];
        if (bin.remap[i] < 0) {
          bin.remap[i] = bin.pos.length / 3;
          bin.pos.push(P[3 * i], P[3 * i + 1], P[3 * i + 2]);
        }
        bin.idx.push(bin.remap[i]);
      }
    }
    const used = bins.map((b, n) => [b, n]).filter(([b]) => b.idx.length);
    return {
      positions: Float32Array.from(used.flatMap(([b]) => b.pos)),
      indices: Uint32Array.from(used.flatMap(([b]) => b.idx)),
      vertex_counts: used.map(([b]) => b.pos.length / 3),
      index_counts: used.map(([b]) => b.idx.length),
      colours: used.flatMap(([, n]) => DEVIATION_COLOURS[n]),
      labels: used.map(() => label),
    };
  }
}
