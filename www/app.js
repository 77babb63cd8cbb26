// Osteon app shell: wires the page's wasm Viewer (rendering) to the compute worker
// (loading, analysis) and the panels. No network request is made after page load:
// every file is read locally and every computation runs in this tab.
import init, { Viewer, appVersion, encodeDesignLink, decodeDesignLink, decodeMeshLink } from './pkg/osteon.js';
import { MprView } from './mpr_view.js';
import { EditTools } from './edit_tools.js';
import { filesFromDrop, filesFromInput, readAll } from './files.js';
import { MeshTools } from './mesh_tools.js';
import { PrintTools } from './print_tools.js';

const PRESETS = {
  bone: { center: 400, width: 1800 },
  soft: { center: 40, width: 400 },
  lung: { center: -600, width: 1500 },
};
const BONE_ISO_HU = 226;
// Part surfaces sit half-way between soft tissue and cortex, so volumes are unbiased
// for masks made with the 226 HU bone threshold (see segment::auto).
const PART_ISO_HU = 720;

/** A safe file name from a part name: "left talus" -> "left_talus". */
function fileName(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'part';
}
const $ = (id) => document.getElementById(id);
// Set only by the single-file build: it supplies the worker and the wasm (ARCHITECTURE.md).
const SINGLE = globalThis.OSTEON_SINGLE;

class App {
  constructor(viewer) {
    this.viewer = viewer;
    this.study = null;
    this.cursor = [0, 0, 0];
    this.windowLevel = { ...PRESETS.bone };
    this.measuring = false;
    this.measurements = [];
    this.pendingMeasure = null;
    this.orbit = { yaw: 25, pitch: 20, zoom: 1 };
    this.views = [...document.querySelectorAll('.view[data-plane]')].map((el) => new MprView(el, Number(el.dataset.plane), this));
    this.activeView = this.views[0];
    this.edit = new EditTools(this);
    this.pendingSeries = null;
    this.design = null;
    this.linkedDesign = null;
    this.seg = null;
    this.surfaceInfo = new Map();
    this.growing = false;
    this.splitting = null;
    this.labelsVersion = 0;
    this.worker = this.startWorker();
    this.bindUi();
    this.meshTools = new MeshTools(this, PART_ISO_HU);
    this.printTools = new PrintTools(this, PART_ISO_HU);
    new ResizeObserver(() => this.redraw()).observe($('views'));
  }

  startWorker() {
    const threads = SINGLE || this.threadsRefused ? 1 : threadsWanted();
    if (threads > 1) return this.startThreadedWorker(threads);
    const url = new URL('./worker.js', import.meta.url);
    // The single-file build (scripts/bundle-single.mjs) starts the bundled worker from a Blob URL.
    const worker = SINGLE ? SINGLE.startWorker(url) : new Worker(url, { type: 'module' });
    worker.onmessage = (e) => this.onWorkerMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.recoverWorker(`the compute worker stopped (${e.message || 'unknown error'})`);
    };
    return worker;
  }

  /**
   * The compute worker of the threaded build (worker_threads.js). Messages wait until it
   * has started its thread pool; if it cannot start (no threaded build was made here, or
   * the browser refuses it), the default worker takes its place and the waiting messages.
   */
  startThreadedWorker(threads) {
    const worker = new Worker(new URL(`./worker_threads.js?threads=${threads}`, import.meta.url), { type: 'module' });
    const send = worker.postMessage.bind(worker);
    let waiting = [];
    worker.postMessage = (msg, transfer) => (waiting ? waiting.push([msg, transfer]) : send(msg, transfer));
    const fallBack = (why) => {
      console.warn(`The threaded build could not start (${why}); using the single-threaded one.`);
      worker.terminate();
      this.threadsRefused = true;
      this.worker = this.startWorker();
      for (const [msg, transfer] of waiting) this.worker.postMessage(msg, transfer);
      waiting = null;
    };
    worker.onmessage = (e) => {
      if (waiting && e.data.type === 'error') { fallBack(e.data.message); return; }
      if (waiting && e.data.type === 'started') {
        const held = waiting;
        waiting = null;
        for (const [msg, transfer] of held) send(msg, transfer);
      }
      this.onWorkerMessage(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      if (waiting) fallBack(e.message || 'its scripts did not load');
      else this.recoverWorker(`the compute worker stopped (${e.message || 'unknown error'})`);
    };
    return worker;
  }

  /**
   * Replaces a failed (or cancelled) worker: the new one takes the volume this page
   * shows and replays the design's op log, so only the step in progress is lost.
   */
  recoverWorker(reason) {
    this.worker.terminate();
    // A worker that fails again at once (e.g. it cannot start) is not restarted forever.
    const now = Date.now();
    this.restarts = (this.restarts || []).filter((t) => now - t < 10000).concat(now);
    if (this.restarts.length > 3) {
      this.fail(`${reason[0].toUpperCase()}${reason.slice(1)}, and it keeps failing, so it was not restarted again. Reload the page; the design is kept in the address bar.`);
      return;
    }
    this.worker = this.startWorker();
    this.loading = false;
    if (!this.study) {
      this.fail(`${reason[0].toUpperCase()}${reason.slice(1)}. It has been restarted; open the study again.`);
      return;
    }
    const restoreParts = this.surfaceInfo.size > 0;
    const ops = this.design ? this.design.ops.slice(1) : [];
    const volume = this.viewer.volumeData();
    this.recovering = { reason, ops: ops.length, fingerprint: this.study.sha256 };
    this.busy('Restoring the study and the design', 0, 1);
    this.worker.postMessage({
      type: 'adopt', volume, dims: this.study.dims, spacing: this.study.spacing_mm,
      affine: this.study.patient_from_voxel, source: this.study.source,
    }, [volume.buffer]);
    this.worker.postMessage({ type: 'replay', ops });
    if (restoreParts) this.worker.postMessage({ type: 'parts', iso: PART_ISO_HU });
  }

  /** The restarted worker holds the study: check it is the same one. */
  onAdopted(fingerprint) {
    const r = this.recovering;
    if (!r) return;
    if (fingerprint !== r.fingerprint) {
      this.recovering = null;
      this.fail('The study could not be restored exactly after the worker restart; open it again. The design is kept in the address bar.');
    }
  }

  setStatus(text, state) {
    const s = $('status');
    s.textContent = text;
    s.dataset.state = state;
  }

  busy(label, done, total) {
    $('progress').hidden = false;
    $('progress-label').textContent = label;
    $('progress-bar').value = total ? done / total : 0;
  }

  idle() {
    $('progress').hidden = true;
  }

  fail(message) {
    this.idle();
    this.setStatus(message, 'error');
  }

  onWorkerMessage(msg) {
    switch (msg.type) {
      case 'progress': this.busy(msg.label, msg.done, msg.total); break;
      case 'scanned': this.showSeries(msg.series, msg.errors); break;
      case 'study': this.showStudy(msg.report, msg.volume); break;
      case 'surface': this.showSurface(msg); break;
      case 'segmentation': this.lastTiming = msg.timing; this.showSegmentation(msg.report, msg.patch); this.finishRecovery(); break;
      case 'digest': this.onDigest(msg.sha); break;
      case 'adopted': this.onAdopted(msg.fingerprint); break;
      case 'parts': this.showParts(msg); break;
      case 'meshes': this.meshTools.onMeshes(msg); break;
      case 'meshmeasure': this.meshTools.onMeasure(msg); break;
      case 'print': this.printTools.onPrint(msg); break;
      case 'printlayer': this.printTools.onLayer(msg); break;
      case 'printpreview': this.printTools.onPreview(msg); break;
      case 'marks': this.printTools.marks.onMarks(msg); break;
      case 'export': this.download(msg.name, msg.bytes); break;
      case 'history': this.showHistory(msg); break;
      case 'meshlink': this.copyImplantLink(msg.link); break;
      case 'cancelled': this.loading = false; this.idle(); this.setStatus('Loading cancelled. The study on screen is unchanged.', this.study ? 'ready' : 'idle'); break;
      case 'error': this.onWorkerError(msg); break;
      case 'started': this.compute = { build: msg.build, threads: msg.threads }; this.showVersion(); break;
      case 'threads': this.compute.used = msg.used; break;
      default: break;
    }
  }

  finishRecovery() {
    const r = this.recovering;
    if (!r) return;
    this.recovering = null;
    this.setStatus(`${r.reason[0].toUpperCase()}${r.reason.slice(1)}. The worker was restarted; the study and the design (${r.ops} operation(s)) are restored.`, 'ready');
  }

  onWorkerError(msg) {
    if (msg.fatal) {
      const why = /unreachable/i.test(msg.message) ? 'an internal error; details are in the browser console' : msg.message;
      this.recoverWorker(`the compute worker failed (${why})`);
      return;
    }
    this.recovering = null;
    this.edit.clearPending();
    if (msg.context === 'load') this.loading = false;
    if (msg.context === 'load' && /PixelSpacing/i.test(msg.message)) {
      $('spacing-panel').hidden = false;
      $('spacing-reason').textContent = msg.message;
      this.idle();
      this.setStatus('Enter the pixel spacing to load this series.', 'needs-input');
      return;
    }
    const what = {
      demo: 'open the demo study', files: 'read the files', load: 'load the series', surface: 'extract the bone surface',
      op: 'do that', meshop: 'do that to the mesh', meshexport: 'export', replay: 'replay the design', printop: 'prepare the print', markop: 'mark the joint surface', printexport: 'export', printlayer: 'show the layer', printpreview: 'preview the rotation', undo: 'undo', redo: 'redo', parts: 'calculate the parts', export: 'export',
    }[msg.context] || msg.context;
    this.fail(`Could not ${what}: ${msg.message}`);
  }

  openDemo() {
    this.setStatus('Generating the demo study…', 'busy');
    this.worker.postMessage({ type: 'demo' });
  }

  async openFiles(records) {
    if (!records.length) return;
    this.setStatus(`Reading ${records.length} files…`, 'busy');
    const files = await readAll(records, (d, t) => this.busy('Reading files', d, t));
    this.worker.postMessage({ type: 'files', files }, files.map((f) => f.buffer));
  }

  showSeries(series, errors) {
    this.idle();
    const panel = $('series-panel');
    panel.hidden = false;
    const body = $('series-table').querySelector('tbody');
    body.replaceChildren();
    const usable = series.filter((s) => !s.is_localizer);
    for (const s of usable) {
      const tr = document.createElement('tr');
      const spacing = s.pixel_spacing_mm ? `${s.pixel_spacing_mm.map((v) => v.toFixed(3)).join(' × ')} × ${s.slice_spacing_mm ? s.slice_spacing_mm.toFixed(2) : '?'}` : 'missing';
      const cells = [s.description || '(no description)', s.modality, `${s.cols}×${s.rows}×${s.slices}`, spacing];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      const td = document.createElement('td');
      const b = document.createElement('button');
      b.textContent = 'Load';
      b.className = 'primary load-series';
      b.onclick = () => this.loadSeries(s.id);
      td.append(b);
      tr.append(td);
      body.append(tr);
    }
    const hidden = series.length - usable.length;
    const details = $('file-errors');
    details.hidden = !errors.length && !hidden;
    details.querySelector('summary').textContent = `${errors.length} file(s) not used${hidden ? `, ${hidden} localizer series hidden` : ''}`;
    const list = details.querySelector('ul');
    list.replaceChildren(...errors.map((e) => Object.assign(document.createElement('li'), { textContent: `${e.name}: ${e.reason}` })));
    if (!usable.length) this.fail('No loadable CT series in those files. See "files not used" for the reasons.');
    else if (usable.length === 1) this.loadSeries(usable[0].id);
    else this.setStatus(`Found ${usable.length} series. Pick one to load.`, 'pick');
  }

  loadSeries(seriesId, pixelSpacing) {
    this.pendingSeries = seriesId;
    this.loading = true;
    $('spacing-panel').hidden = true;
    this.setStatus('Loading series…', 'busy');
    this.worker.postMessage({ type: 'load', seriesId, pixelSpacing });
  }

  showStudy(report, volume) {
    this.idle();
    this.loading = false;
    this.viewer.setVolume(volume, report.dims, report.spacing_mm, report.patient_from_voxel);
    this.study = report;
    this.cursor = [...report.focus_voxel];
    this.measurements = [];
    this.seg = null;
    this.surfaceInfo = new Map();
    this.renderPartsTable();
    this.meshTools.reset();
    this.printTools.reset();
    $('seg-panel').hidden = false;
    this.edit.reset();
    for (const v of this.views) v.reset();
    this.showFacts(report);
    this.showQa(report.qa);
    this.redraw();
    const errs = report.file_errors.length ? ` ${report.file_errors.length} file(s) could not be used.` : '';
    this.setStatus(`${report.source === 'demo' ? 'Demo study' : 'Series'} loaded: ${report.dims.join(' × ')} voxels.${errs}`, 'ready');
    this.worker.postMessage({ type: 'surface', iso: BONE_ISO_HU });
    this.startDesign(report);
  }

  /** Starts the design for a new study, or checks and applies the design of an opened link. */
  startDesign(report) {
    const linked = this.linkedDesign;
    if (linked && linked.study_fingerprint !== report.sha256) {
      this.design = null;
      this.fail(`This design link belongs to a different study (fingerprint ${linked.study_fingerprint.slice(0, 12)}…, this study ${report.sha256.slice(0, 12)}…). Drop the CT study the link was made on.`);
      return;
    }
    const source = report.source === 'demo' ? { op: 'open_demo', seed: 1 } : { op: 'load_series' };
    this.design = { study_fingerprint: report.sha256, app_version: appVersion(), ops: [source], view: null };
    if (linked) {
      this.design.ops = linked.ops;
      this.applyView(linked.view);
      this.linkedDesign = null;
      if (linked.ops.length > 1) this.worker.postMessage({ type: 'replay', ops: linked.ops });
      this.setStatus(`Design link opened: the study matches (fingerprint ${report.sha256.slice(0, 12)}…) and the design was replayed.`, 'ready');
    }
    this.updateLink();
  }

  applyView(view) {
    const dims = this.study.dims;
    this.cursor = view.cursor.map((c, a) => Math.min(dims[a] - 1, Math.max(0, c)));
    this.windowLevel = { center: view.window_hu[0], width: view.window_hu[1] };
    this.orbit = { yaw: view.orbit[0], pitch: view.orbit[1], zoom: view.orbit[2] };
    this.measurements = (view.measurements || []).map((m) => ({ ...m, mm: this.distanceMm(m.a, m.b) }));
    this.pendingMeasure = null;
    this.setPresenter(Boolean(view.presenter));
    this.setWindow(this.windowLevel.center, this.windowLevel.width);
    this.edit.applyView(view);
  }

  distanceMm(a, b) {
    const pa = this.viewer.patientMm(...a);
    const pb = this.viewer.patientMm(...b);
    return Math.hypot(pa[0] - pb[0], pa[1] - pb[1], pa[2] - pb[2]);
  }

  /** Presenter mode: large labels for a design call on a shared screen. */
  setPresenter(on) {
    this.presenter = on;
    document.body.classList.toggle('presenter', on);
    $('presenter').setAttribute('aria-pressed', String(on));
    this.redraw();
  }

  /** Puts the current design in the address bar (fragment only: never sent to a server). */
  updateLink() {
    if (!this.design) return;
    this.design.view = {
      cursor: [...this.cursor],
      window_hu: [this.windowLevel.center, this.windowLevel.width],
      orbit: [this.orbit.yaw, this.orbit.pitch, this.orbit.zoom],
      ...this.edit.viewState(),
      measurements: this.measurements.filter((m) => m.b).map(({ plane, index, a, b }) => ({ plane, index, a, b })),
      presenter: Boolean(this.presenter),
    };
    const link = encodeDesignLink(this.design);
    if (link !== location.hash) history.replaceState(null, '', link);
  }

  /** Copies an implant-only link (a mesh and no anatomy) made by the worker. */
  async copyImplantLink(fragment) {
    const url = `${location.origin}${location.pathname}${fragment}`;
    this.implantLink = url;
    try {
      await navigator.clipboard.writeText(url);
      this.setStatus(`Implant-only link copied (${Math.round(url.length / 1024)} KB): the mesh only, no CT and no patient data.`, 'ready');
    } catch {
      this.setStatus(`Implant-only link (${Math.round(url.length / 1024)} KB) could not be copied automatically: ${url.slice(0, 80)}…`, 'ready');
    }
  }

  /** Shows the mesh of an implant-only link in the 3-D view; there is no study. */
  openImplantLink(fragment) {
    let m;
    try {
      m = decodeMeshLink(fragment);
    } catch (e) {
      this.fail(`Cannot open this implant link: ${e.message || e}`);
      return;
    }
    this.viewer.setSurface(m.positions, m.normals, m.indices);
    this.implant = { name: m.name, triangles: m.triangles, volume_mm3: m.volume_mm3, area_mm2: m.area_mm2 };
    $('info3d').textContent = `${m.name}: ${m.triangles.toLocaleString()} triangles, ${(m.volume_mm3 / 1000).toFixed(2)} cm³, ${(m.area_mm2 / 100).toFixed(1)} cm²`;
    $('canvas3d').dataset.ready = 'true';
    this.draw3d();
    this.setStatus(`Implant-only link: "${m.name}" (${(m.volume_mm3 / 1000).toFixed(2)} cm³). It holds the mesh only — no CT, no patient data.`, 'ready');
  }

  /** Reads a design from the address bar at start-up. */
  openLinkFromUrl() {
    if (!location.hash) return;
    if (location.hash.startsWith('#m=')) { this.openImplantLink(location.hash); return; }
    let design;
    try {
      design = decodeDesignLink(location.hash);
    } catch (e) {
      this.fail(`Cannot open this design link: ${e.message || e}`);
      return;
    }
    this.linkedDesign = design;
    if (design.ops[0] && design.ops[0].op === 'open_demo') {
      this.setStatus('Design link for the demo study: opening it…', 'busy');
      this.openDemo();
    } else {
      this.setStatus(`Design link for study ${design.study_fingerprint.slice(0, 12)}…: drop your copy of that CT study to replay it.`, 'needs-input');
    }
  }

  async copyLink() {
    this.updateLink();
    try {
      await navigator.clipboard.writeText(location.href);
      this.setStatus('Design link copied. It holds no patient data: only the design and the study fingerprint.', 'ready');
    } catch {
      this.setStatus(`Copy this link: ${location.href}`, 'ready');
    }
  }

  /** Sends one design operation to the worker. */
  applyOp(op) {
    if (!this.study) return;
    this.setStatus('Working…', 'busy');
    this.worker.postMessage({ type: 'op', op });
  }

  threshold() {
    return { lower_hu: Number($('thr-lo').value), upper_hu: Number($('thr-hi').value) };
  }

  /**
   * Takes a segmentation report as the current one. Its `labels_sha256` is computed only
   * when read (a test, a check across a design call): it reads every voxel of the page's copy.
   */
  setSegReport(report) {
    Object.defineProperty(report, 'labels_sha256', { get: () => this.viewer.labelsSha256(), configurable: true });
    this.seg = report;
  }

  /** The worker's digest of its label volume (a Promise), to compare with the page's copy. */
  workerLabelsDigest() {
    return new Promise((resolve) => {
      (this.digestWaiters ||= []).push(resolve);
      this.worker.postMessage({ type: 'digest' });
    });
  }

  onDigest(sha) {
    const w = this.digestWaiters && this.digestWaiters.shift();
    if (w) w(sha);
  }

  /** A segmentation report and the box of labels that changed (`patch`, null when none did). */
  showSegmentation(report, patch) {
    this.idle();
    this.setSegReport(report);
    const colours = new Uint8Array(256 * 3);
    for (const p of report.parts) colours.set(p.colour, p.label * 3);
    this.viewer.setLabelColours(colours);
    if (patch) this.viewer.patchLabels(patch.min, patch.size, patch.data);
    this.lastPatch = patch && { min: patch.min, size: patch.size };
    this.labelsVersion++;
    this.edit.clearPending();
    this.surfaceInfo = new Map();
    $('thr-lo').value = report.threshold.lower_hu;
    $('thr-hi').value = report.threshold.upper_hu;
    this.renderPartsTable();
    this.meshTools.onSegmentation(report);
    if (this.design) {
      this.design.ops = [this.design.ops[0], ...report.ops];
      this.updateLink();
    }
    this.setStatus(`${report.parts.length} part(s).`, 'ready');
    // The 3-D view was updated by meshTools.onSegmentation when it changed.
    this.redraw2d();
  }

  renderPartsTable() {
    if (this.printTools) this.printTools.render();
    const parts = this.seg ? this.seg.parts : [];
    const body = $('parts-table').querySelector('tbody');
    body.replaceChildren();
    for (const p of parts) {
      const tr = document.createElement('tr');
      tr.dataset.label = p.label;
      if (this.meshTools) this.meshTools.decoratePartRow(tr, p);
      const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
      swatch.style.background = `rgb(${p.colour.join(',')})`;
      const name = Object.assign(document.createElement('td'), { className: 'name', textContent: p.name, title: 'Double-click to rename' });
      name.ondblclick = () => {
        const n = prompt('Part name', p.name);
        if (n && n.trim() && n !== p.name) this.applyOp({ op: 'rename_part', label: p.label, name: n.trim() });
      };
      const surf = this.surfaceInfo.get(p.label);
      const show = Object.assign(document.createElement('input'), { type: 'checkbox', checked: true, disabled: !surf });
      show.onchange = () => { this.viewer.setPartVisible(p.label, show.checked); this.draw3d(); };
      const stl = Object.assign(document.createElement('button'), { textContent: 'STL', disabled: !surf, title: 'Export this part as binary STL' });
      stl.onclick = () => this.worker.postMessage({ type: 'export', kind: 'stl', label: p.label, name: `${fileName(p.name)}.stl` });
      const del = Object.assign(document.createElement('button'), { textContent: '×', title: 'Remove this part' });
      del.onclick = () => this.applyOp({ op: 'delete_part', label: p.label });
      const cells = [swatch, name, p.voxels.toLocaleString('en-US'), Math.round(p.volume_mm3).toLocaleString('en-US'), surf ? Math.round(surf.area_mm2).toLocaleString('en-US') : '–', show, [stl, del]];
      for (const c of cells) {
        if (c instanceof HTMLTableCellElement) { tr.append(c); continue; }
        const td = document.createElement('td');
        if (Array.isArray(c)) td.append(...c); else if (c instanceof Node) td.append(c); else td.textContent = c;
        tr.append(td);
      }
      body.append(tr);
    }
    $('undo').disabled = !(this.seg && this.seg.can_undo);
    $('redo').disabled = !(this.seg && this.seg.can_redo);
    $('calc-parts').disabled = !parts.length;
    $('design-history').disabled = !this.seg;
    $('export-3mf').disabled = !this.surfaceInfo.size;
    this.edit.afterPartsTable();
  }

  showParts(msg) {
    this.idle();
    this.surfaceInfo = new Map(msg.parts.map((p) => [p.label, p]));
    const colours = new Uint8Array(msg.parts.length * 3);
    const labels = new Uint8Array(msg.parts.length);
    msg.parts.forEach((info, n) => {
      const part = this.seg.parts.find((p) => p.label === info.label);
      colours.set(part ? part.colour : [200, 200, 200], n * 3);
      labels[n] = info.label;
    });
    this.viewer.setParts(msg.positions, msg.indices, msg.vertex_counts, msg.index_counts, colours, labels);
    const triangles = msg.parts.reduce((a, p) => a + p.triangles, 0);
    $('info3d').textContent = `${msg.parts.length} parts, ${triangles.toLocaleString()} triangles`;
    this.renderPartsTable();
    this.meshTools.onParts(msg);
    this.draw3d();
    this.setStatus(`Calculated ${msg.parts.length} watertight part surface(s).`, 'ready');
  }

  /** Lists every output's digest and downloads the design-history record. */
  showHistory(msg) {
    this.idle();
    this.history = msg.outputs;
    const body = $('history-table').querySelector('tbody');
    body.replaceChildren(...msg.outputs.map((o) => {
      const tr = document.createElement('tr');
      for (const [text, title] of [[o.file], [o.bytes.toLocaleString()], [`${o.sha256.slice(0, 16)}…`, o.sha256]]) {
        tr.append(Object.assign(document.createElement('td'), { textContent: text, title: title || '' }));
      }
      return tr;
    }));
    $('history-panel').hidden = false;
    this.download('design-history.json', new TextEncoder().encode(msg.json));
  }

  download(name, bytes) {
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    this.setStatus(`Exported ${name}.`, 'ready');
  }

  growAt(voxel) {
    const { lower_hu, upper_hu } = this.threshold();
    this.applyOp({ op: 'grow', seed: voxel, lower_hu, upper_hu, name: $('grow-name').value.trim() });
    $('grow-name').value = '';
  }

  /** Split mode: the first click picks the part and its seed, the second the other bone. */
  splitClick(voxel) {
    const label = this.viewer.labelAt(...voxel);
    const part = this.seg && this.seg.parts.find((p) => p.label === label);
    if (!part) {
      this.setStatus('Click inside a coloured part to split it.', 'needs-input');
      return;
    }
    if (!this.splitting.first) {
      this.splitting.first = { label, voxel };
      this.setStatus(`Now click inside the other bone joined to ${part.name}.`, 'needs-input');
      return;
    }
    const { first } = this.splitting;
    if (label !== first.label) {
      this.setStatus(`Both clicks must be inside ${this.seg.parts.find((p) => p.label === first.label).name}.`, 'needs-input');
      return;
    }
    this.setSplitMode(false);
    this.applyOp({ op: 'split_part', label, seeds: [first.voxel, voxel] });
  }

  setSplitMode(on) {
    this.splitting = on ? { first: null } : null;
    $('split-mode').setAttribute('aria-pressed', String(on));
    if (on) {
      this.growing = false;
      $('grow-mode').setAttribute('aria-pressed', 'false');
      this.setStatus('Split: click inside the part to divide.', 'needs-input');
    }
  }

  showThresholdPreview() {
    const { lower_hu, upper_hu } = this.threshold();
    if ($('thr-show').checked) this.viewer.setThresholdPreview(lower_hu, upper_hu);
    else this.viewer.setThresholdPreview(1, 0);
    this.labelsVersion++;
    this.redraw();
  }

  showSurface(msg) {
    this.idle();
    this.viewer.setSurface(msg.positions, msg.normals, msg.indices);
    $('info3d').textContent = `${(msg.indices.length / 3).toLocaleString()} triangles at ${BONE_ISO_HU} HU`;
    $('canvas3d').dataset.ready = 'true';
    this.draw3d();
  }

  showFacts(r) {
    const facts = [
      ['Source', r.source === 'demo' ? 'Embedded demo (phantom)' : 'DICOM files'],
      ['Description', r.summary.description],
      ['Voxels', r.dims.join(' × ')],
      ['Spacing (mm)', r.spacing_mm.map((v) => v.toFixed(3)).join(' × ')],
      ['HU range', `${r.hu_range[0]} … ${r.hu_range[1]}`],
      ['Gantry tilt', r.geometry.tilt_deg ? `${r.geometry.tilt_deg.toFixed(1)}° (resampled)` : 'none'],
      ['Fingerprint', r.sha256.slice(0, 16) + '…'],
    ];
    const dl = $('study-facts');
    dl.replaceChildren();
    for (const [k, v] of facts) {
      dl.append(Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v }));
    }
    $('study-panel').hidden = false;
  }

  showQa(qa) {
    const body = $('qa-table').querySelector('tbody');
    body.replaceChildren();
    for (const line of qa.lines) {
      const tr = document.createElement('tr');
      tr.className = `qa-${line.status}`;
      tr.title = line.note || '';
      for (const text of [line.check, line.value, line.limit]) tr.append(Object.assign(document.createElement('td'), { textContent: text }));
      tr.append(Object.assign(document.createElement('td'), { textContent: line.status.toUpperCase(), className: 'qa-status' }));
      body.append(tr);
    }
    $('qa-panel').hidden = false;
  }

  setWindow(center, width) {
    this.windowLevel = { center: Math.round(center), width: Math.round(width) };
    document.querySelectorAll('.preset').forEach((b) => {
      const p = PRESETS[b.dataset.preset];
      b.classList.toggle('active', p.center === this.windowLevel.center && p.width === this.windowLevel.width);
    });
    this.redraw();
  }

  showHover(voxel) {
    if (!voxel) { $('cursor-readout').textContent = ''; return; }
    const hu = this.viewer.hu(...voxel);
    const p = this.viewer.patientMm(...voxel);
    const label = this.viewer.labelAt(...voxel);
    const part = label && this.seg ? this.seg.parts.find((q) => q.label === label) : null;
    $('cursor-readout').textContent = `voxel ${voxel.join(', ')}  ·  ${p.map((v) => v.toFixed(1)).join(', ')} mm (LPS)  ·  ${hu} HU${part ? `  ·  ${part.name}` : ''}`;
  }

  measureClick(view, voxel) {
    const index = view.sliceIndex;
    if (!this.pendingMeasure) {
      this.pendingMeasure = { plane: view.plane, index, a: voxel };
      this.measurements.push(this.pendingMeasure);
    } else {
      const m = this.pendingMeasure;
      m.b = voxel;
      m.mm = this.distanceMm(m.a, m.b);
      this.pendingMeasure = null;
      this.setStatus(`Distance: ${m.mm.toFixed(1)} mm`, 'ready');
    }
    this.redraw();
  }

  redraw() {
    if (!this.study) return;
    this.redraw2d();
    this.draw3d();
  }

  /** The three slice views only. */
  redraw2d() {
    if (!this.study) return;
    for (const v of this.views) { v.resize(); v.draw(); }
    $('wl-readout').textContent = `C ${this.windowLevel.center} / W ${this.windowLevel.width}`;
    this.scheduleLinkUpdate();
  }

  scheduleLinkUpdate() {
    clearTimeout(this.linkTimer);
    this.linkTimer = setTimeout(() => this.updateLink(), 300);
  }

  /** For the recovery tests: makes the worker panic or hang as a bug or a long step would. */
  forceWorkerFailure(kind, seconds = 0) {
    if (kind === 'hang') this.busy('Working (test)', 0, 1);
    this.worker.postMessage({ type: 'failForTest', kind, seconds });
  }

  draw3d() {
    const c = $('canvas3d');
    const r = c.getBoundingClientRect();
    // Setting a canvas' size, even to the one it has, reallocates its drawing buffer.
    const [w, h] = [Math.max(1, Math.round(r.width * devicePixelRatio)), Math.max(1, Math.round(r.height * devicePixelRatio))];
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    this.viewer.render3d(c.width, c.height, this.orbit.yaw, this.orbit.pitch, this.orbit.zoom);
  }

  /** The version, and the threads the compute worker runs on once it has started. */
  showVersion() {
    const c = this.compute;
    $('app-version').textContent = `v${appVersion()}${c && c.threads > 1 ? ` · ${c.threads} threads` : ''}`;
  }

  bindUi() {
    this.showVersion();
    $('open-demo').onclick = () => this.openDemo();
    $('copy-link').onclick = () => this.copyLink();
    $('presenter').onclick = () => this.setPresenter(!this.presenter);
    $('design-history').onclick = () => {
      this.updateLink();
      this.setStatus('Building the design history…', 'busy');
      this.worker.postMessage({ type: 'history', design: this.design });
    };
    $('auto-bones').onclick = () => this.applyOp({ op: 'auto_bones', ...this.threshold() });
    $('grow-mode').onclick = (e) => {
      this.growing = !this.growing;
      e.target.setAttribute('aria-pressed', String(this.growing));
      if (this.growing) this.setSplitMode(false);
    };
    $('split-mode').onclick = () => this.setSplitMode(!this.splitting);
    $('undo').onclick = () => this.worker.postMessage({ type: 'undo' });
    $('redo').onclick = () => this.worker.postMessage({ type: 'redo' });
    $('calc-parts').onclick = () => { this.setStatus('Calculating parts…', 'busy'); this.worker.postMessage({ type: 'parts', iso: PART_ISO_HU }); };
    $('export-3mf').onclick = () => this.worker.postMessage({ type: 'export', kind: '3mf', name: 'parts.3mf' });
    $('thr-show').onchange = () => this.showThresholdPreview();
    for (const id of ['thr-lo', 'thr-hi']) {
      $(id).oninput = () => this.showThresholdPreview();
      $(id).onchange = () => this.applyOp({ op: 'set_threshold', ...this.threshold() });
    }
    for (const id of ['file-input', 'folder-input']) {
      $(id).onchange = (e) => { this.openFiles(filesFromInput(e.target)); e.target.value = ''; };
    }
    // A load stops between slices; any other step is stopped by replacing the worker,
    // which puts the design back as it was before that step.
    $('cancel').onclick = () => {
      if (this.loading) this.worker.postMessage({ type: 'cancel' });
      else this.recoverWorker('cancelled');
    };
    $('spacing-apply').onclick = () => this.loadSeries(this.pendingSeries, [Number($('spacing-x').value), Number($('spacing-y').value)]);
    document.querySelectorAll('.preset').forEach((b) => { b.onclick = () => { const p = PRESETS[b.dataset.preset]; this.setWindow(p.center, p.width); }; });
    $('tool-measure').onclick = (e) => {
      this.measuring = !this.measuring;
      this.pendingMeasure = null;
      e.target.setAttribute('aria-pressed', String(this.measuring));
    };
    $('reset-views').onclick = () => { for (const v of this.views) v.reset(); this.orbit = { yaw: 25, pitch: 20, zoom: 1 }; this.redraw(); };
    window.addEventListener('keydown', (e) => {
      if (!this.study || e.target.tagName === 'INPUT') return;
      const step = { ArrowUp: -1, ArrowLeft: -1, ArrowDown: 1, ArrowRight: 1, PageUp: -10, PageDown: 10 }[e.key];
      if (step) { e.preventDefault(); this.activeView.scroll(step); }
    });
    this.bindDrop();
    this.bind3d();
  }

  bindDrop() {
    const overlay = $('drop-overlay');
    window.addEventListener('dragover', (e) => { e.preventDefault(); overlay.hidden = false; });
    window.addEventListener('dragleave', (e) => { if (!e.relatedTarget) overlay.hidden = true; });
    window.addEventListener('drop', async (e) => {
      e.preventDefault();
      overlay.hidden = true;
      this.openFiles(await filesFromDrop(e.dataTransfer));
    });
  }

  bind3d() {
    const c = $('canvas3d');
    let drag = null;
    // A left or right drag rotates (the right one also while the brush of mark_tools.js paints with the left).
    c.addEventListener('mousedown', (e) => { if (e.button === 0 || e.button === 2) drag = { x: e.clientX, y: e.clientY, moved: false, button: e.button, ...this.orbit }; });
    c.addEventListener('contextmenu', (e) => e.preventDefault());
    // A left press and release without moving is a click (pick); moving further rotates.
    window.addEventListener('mouseup', (e) => {
      if (drag && !drag.moved && drag.button === 0 && e.target === c) this.pick3d(e);
      drag = null;
    });
    c.addEventListener('mousemove', (e) => {
      if (!drag) return;
      if (!drag.moved && Math.hypot(e.clientX - drag.x, e.clientY - drag.y) < 4) return;
      drag.moved = true;
      this.orbit.yaw = drag.yaw - (e.clientX - drag.x) * 0.5;
      this.orbit.pitch = Math.max(-89, Math.min(89, drag.pitch + (e.clientY - drag.y) * 0.5));
      this.draw3d();
      this.scheduleLinkUpdate();
    });
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.orbit.zoom = Math.min(5, Math.max(0.2, this.orbit.zoom * (e.deltaY > 0 ? 1.1 : 1 / 1.1)));
      this.draw3d();
      this.scheduleLinkUpdate();
    }, { passive: false });
  }

  /**
   * Click in the 3-D view: selects the part or mesh object under the mouse (its row in
   * the Masks and Meshes panels, highlighted in 3-D), moves the crosshair to the picked
   * point and shows it in patient mm. Empty space clears the selection.
   */
  pick3d(e) {
    const c = $('canvas3d');
    if (!this.study || !c.dataset.ready) return;
    // Canvas pixels of the last frame, which the page may have stretched since (re-flow).
    const r = c.getBoundingClientRect();
    const hit = this.viewer.pick((e.clientX - r.left) * (c.width / r.width), (e.clientY - r.top) * (c.height / r.height),
      c.width, c.height, this.orbit.yaw, this.orbit.pitch, this.orbit.zoom);
    if (!hit) {
      this.picked = null;
      this.edit.select(null);
      this.meshTools.select(null);
      this.setStatus('Nothing under the mouse in the 3-D view: selection cleared.', 'ready');
      return;
    }
    const object = this.meshTools.objectOfLabel(hit.label);
    // On the preview surface (no parts calculated) the part is the one labelled at the point.
    const label = object ? null : hit.label || this.labelNear(hit.voxel);
    const part = label && this.seg ? this.seg.parts.find((p) => p.label === label) : null;
    if (object) {
      this.edit.select(null);
      this.meshTools.select({ mesh: object.id });
    } else {
      this.edit.select(part ? part.label : null);
      this.meshTools.select(part ? { part: part.label } : null);
    }
    const name = object ? object.name : part ? part.name : 'bone surface';
    this.picked = { name, label: part ? part.label : null, mesh: object ? object.id : null, point_mm: hit.point_mm, voxel: hit.voxel };
    this.cursor = [...hit.voxel];
    this.redraw();
    this.setStatus(`${name}: ${hit.point_mm.map((v) => v.toFixed(1)).join(', ')} mm (LPS), voxel ${hit.voxel.join(', ')}`, 'ready');
  }

  /** The part label at `voxel` or, on a part's boundary, the most common one around it. */
  labelNear(voxel) {
    const at = this.viewer.labelAt(...voxel);
    if (at) return at;
    const count = new Map();
    for (let dk = -1; dk <= 1; dk++) for (let dj = -1; dj <= 1; dj++) for (let di = -1; di <= 1; di++) {
      const l = this.viewer.labelAt(voxel[0] + di, voxel[1] + dj, voxel[2] + dk);
      if (l) count.set(l, (count.get(l) || 0) + 1);
    }
    let best = 0;
    for (const [l, n] of count) if (!best || n > count.get(best) || (n === count.get(best) && l < best)) best = l;
    return best;
  }
}

/**
 * Threads the compute worker may use: `?threads=N`, else one per core — and only in a
 * cross-origin isolated page (scripts/serve.py), the one place a browser shares memory
 * between threads. 1 means the default single-threaded build (always the case from file://).
 */
function threadsWanted() {
  if (!globalThis.crossOriginIsolated || typeof SharedArrayBuffer !== 'function') return 1;
  const asked = Number(new URLSearchParams(location.search).get('threads'));
  return asked >= 1 ? Math.floor(asked) : Math.max(1, navigator.hardwareConcurrency || 1);
}

/** Lets the app start offline next time (the service worker caches only our own files). */
function registerOffline() {
  if (!SINGLE && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: './' }).catch(() => {});
  }
}

async function main() {
  registerOffline();
  await init(SINGLE && { module_or_path: await SINGLE.wasm });
  let viewer;
  try {
    viewer = new Viewer($('canvas3d'));
  } catch (e) {
    $('status').textContent = `This browser cannot run Osteon's viewer: ${e.message || e}`;
    $('status').dataset.state = 'error';
    return;
  }
  window.osteon = new App(viewer);
  document.body.dataset.ready = 'true';
  window.osteon.openLinkFromUrl();
  // A link pasted into this tab's address bar only changes the fragment.
  window.addEventListener('hashchange', () => window.osteon.openLinkFromUrl());
}

main();
