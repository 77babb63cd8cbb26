// Mesh panel: select a part (click its row in the Bones table) or a mesh object, then
// Mirror / Register to… / Smooth / Remesh / Decimate / Delete. Every action is one design
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

export class MeshTools {
  constructor(app, isoHu) {
    this.app = app;
    this.isoHu = isoHu;
    this.parts = null; // the last 'parts' message: part surfaces as the worker sent them
    this.partsShown = false; // whether those surfaces are still valid (and in the 3-D view)
    this.meshes = null; // the last 'meshes' message
    this.selected = null; // { part: label } or { mesh: id }
    this.hidden = new Set(); // ids of mesh objects hidden in the 3-D view
    this.bind();
  }

  bind() {
    $('mesh-mirror').onclick = () => this.mirror();
    $('mesh-register').onclick = () => this.register();
    $('mesh-smooth').onclick = () => this.apply({
      op: 'smooth_mesh', target: this.ref(), iterations: Number($('mesh-smooth-n').value),
      lambda: Number($('mesh-smooth-lambda').value), mu: Number($('mesh-smooth-mu').value), iso_hu: this.isoHu,
    });
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
    const [kind, n] = v.split(':');
    const fixed = kind === 'part' ? { part: Number(n) } : { mesh: Number(n) };
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
    if (msg.seg) {
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
    for (const id of ['mesh-mirror', 'mesh-register', 'mesh-smooth', 'mesh-remesh', 'mesh-decimate']) $(id).disabled = !sel;
    $('mesh-register').disabled = !sel || !$('mesh-register-target').value;
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
    target.replaceChildren(...options.map(([value, text]) => Object.assign(document.createElement('option'), { value, textContent: text })));
    if (options.some(([v]) => v === keep)) target.value = keep;
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
    for (const k of ['rms', 'overlap', 'sha']) delete dl.dataset[k];
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
      rows.push(['History', r.history.join('; ')]);
      rows.push(['STL SHA-256', r.stl_sha256]);
      dl.dataset.sha = r.stl_sha256;
    }
    $('mesh-selected').textContent = title;
    for (const [k, v] of rows) {
      dl.append(Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v }));
    }
  }
}
