// Osteon app shell: wires the page's wasm Viewer (rendering) to the compute worker
// (loading, analysis) and the panels. No network request is made after page load:
// every file is read locally and every computation runs in this tab.
import init, { Viewer, appVersion, encodeDesignLink, decodeDesignLink } from './pkg/osteon.js';
import { MprView } from './mpr_view.js';
import { filesFromDrop, filesFromInput, readAll } from './files.js';

const PRESETS = {
  bone: { center: 400, width: 1800 },
  soft: { center: 40, width: 400 },
  lung: { center: -600, width: 1500 },
};
const BONE_ISO_HU = 226;
const $ = (id) => document.getElementById(id);

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
    this.pendingSeries = null;
    this.design = null;
    this.linkedDesign = null;
    this.worker = this.startWorker();
    this.bindUi();
    new ResizeObserver(() => this.redraw()).observe($('views'));
  }

  startWorker() {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => this.onWorkerMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.fail(`The compute worker stopped (${e.message || 'unknown error'}). It has been restarted; the study on screen is kept.`);
      this.worker = this.startWorker();
    };
    return worker;
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
      case 'cancelled': this.idle(); this.setStatus('Loading cancelled. The study on screen is unchanged.', this.study ? 'ready' : 'idle'); break;
      case 'error': this.onWorkerError(msg); break;
      default: break;
    }
  }

  onWorkerError(msg) {
    if (msg.context === 'load' && /PixelSpacing/i.test(msg.message)) {
      $('spacing-panel').hidden = false;
      $('spacing-reason').textContent = msg.message;
      this.idle();
      this.setStatus('Enter the pixel spacing to load this series.', 'needs-input');
      return;
    }
    const what = { demo: 'open the demo study', files: 'read the files', load: 'load the series', surface: 'extract the bone surface' }[msg.context] || msg.context;
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
    $('spacing-panel').hidden = true;
    this.setStatus('Loading series…', 'busy');
    this.worker.postMessage({ type: 'load', seriesId, pixelSpacing });
  }

  showStudy(report, volume) {
    this.idle();
    this.viewer.setVolume(volume, report.dims, report.spacing_mm, report.patient_from_voxel);
    this.study = report;
    this.cursor = [...report.focus_voxel];
    this.measurements = [];
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
      this.setStatus(`Design link opened: the study matches (fingerprint ${report.sha256.slice(0, 12)}…) and the design was replayed.`, 'ready');
    }
    this.updateLink();
  }

  applyView(view) {
    const dims = this.study.dims;
    this.cursor = view.cursor.map((c, a) => Math.min(dims[a] - 1, Math.max(0, c)));
    this.windowLevel = { center: view.window_hu[0], width: view.window_hu[1] };
    this.orbit = { yaw: view.orbit[0], pitch: view.orbit[1], zoom: view.orbit[2] };
    this.setWindow(this.windowLevel.center, this.windowLevel.width);
  }

  /** Puts the current design in the address bar (fragment only: never sent to a server). */
  updateLink() {
    if (!this.design) return;
    this.design.view = {
      cursor: [...this.cursor],
      window_hu: [this.windowLevel.center, this.windowLevel.width],
      orbit: [this.orbit.yaw, this.orbit.pitch, this.orbit.zoom],
    };
    const link = encodeDesignLink(this.design);
    if (link !== location.hash) history.replaceState(null, '', link);
  }

  /** Reads a design from the address bar at start-up. */
  openLinkFromUrl() {
    if (!location.hash) return;
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
    $('cursor-readout').textContent = `voxel ${voxel.join(', ')}  ·  ${p.map((v) => v.toFixed(1)).join(', ')} mm (LPS)  ·  ${hu} HU`;
  }

  measureClick(view, voxel) {
    const index = view.sliceIndex;
    if (!this.pendingMeasure) {
      this.pendingMeasure = { plane: view.plane, index, a: voxel };
      this.measurements.push(this.pendingMeasure);
    } else {
      const m = this.pendingMeasure;
      m.b = voxel;
      const pa = this.viewer.patientMm(...m.a);
      const pb = this.viewer.patientMm(...m.b);
      m.mm = Math.hypot(pa[0] - pb[0], pa[1] - pb[1], pa[2] - pb[2]);
      this.pendingMeasure = null;
      this.setStatus(`Distance: ${m.mm.toFixed(1)} mm`, 'ready');
    }
    this.redraw();
  }

  redraw() {
    if (!this.study) return;
    for (const v of this.views) { v.resize(); v.draw(); }
    $('wl-readout').textContent = `C ${this.windowLevel.center} / W ${this.windowLevel.width}`;
    this.draw3d();
    this.scheduleLinkUpdate();
  }

  scheduleLinkUpdate() {
    clearTimeout(this.linkTimer);
    this.linkTimer = setTimeout(() => this.updateLink(), 300);
  }

  draw3d() {
    const c = $('canvas3d');
    const r = c.getBoundingClientRect();
    c.width = Math.max(1, Math.round(r.width * devicePixelRatio));
    c.height = Math.max(1, Math.round(r.height * devicePixelRatio));
    this.viewer.render3d(c.width, c.height, this.orbit.yaw, this.orbit.pitch, this.orbit.zoom);
  }

  bindUi() {
    $('app-version').textContent = `v${appVersion()}`;
    $('open-demo').onclick = () => this.openDemo();
    $('copy-link').onclick = () => this.copyLink();
    for (const id of ['file-input', 'folder-input']) {
      $(id).onchange = (e) => { this.openFiles(filesFromInput(e.target)); e.target.value = ''; };
    }
    $('cancel').onclick = () => this.worker.postMessage({ type: 'cancel' });
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
    c.addEventListener('mousedown', (e) => { drag = { x: e.clientX, y: e.clientY, ...this.orbit }; });
    window.addEventListener('mouseup', () => { drag = null; });
    c.addEventListener('mousemove', (e) => {
      if (!drag) return;
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
}

/** Lets the app start offline next time (the service worker caches only our own files). */
function registerOffline() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: './' }).catch(() => {});
  }
}

async function main() {
  registerOffline();
  await init();
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
