// Compute worker: holds its own wasm instance and the study. Every heavy step runs here
// so the page stays responsive. Loading proceeds in small steps with a yield between
// them, which is when a cancel message can arrive.
import init, { Session } from './pkg/osteon.js';

let session = null;
let cancelRequested = false;
// Dropped DICOM files, kept here rather than in wasm memory: each file goes to wasm only
// while its header is parsed or its slices decoded (null after a drop with a .zip).
let dropped = null;
// The single-file build (scripts/bundle-single.mjs) posts the compiled wasm instead of a URL.
const single = globalThis.OSTEON_SINGLE;
// worker_threads.js: the threaded build (threads.js), used in a cross-origin isolated page.
const threaded = globalThis.OSTEON_THREADS;
let computeThreads = 1;
const ready = threaded
  ? threaded.ready.then((threads) => { session = new threaded.Session(); computeThreads = threads; return { build: 'threads', threads }; })
  : Promise.resolve(single && single.wasm).then((wasm) => init(wasm && { module_or_path: wasm }))
    .then(() => { session = new Session(); return { build: 'single', threads: 1 }; });
// The page learns which build computes (app.js falls back to worker.js when this one fails).
ready.then((started) => post({ type: 'started', ...started }),
  (e) => post({ type: 'error', context: 'start', message: errorText(e), fatal: true }));

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const progress = (label, done, total) => post({ type: 'progress', label, done, total });
const yieldToMessages = () => new Promise((resolve) => setTimeout(resolve, 0));

function errorText(e) {
  return e && e.message ? e.message : String(e);
}

function sendStudy(report) {
  const volume = session.volumeData();
  post({ type: 'study', report, volume }, [volume.buffer]);
}

async function loadSeries(seriesId, pixelSpacing) {
  cancelRequested = false;
  const total = session.beginLoad(seriesId, pixelSpacing || []);
  let done = 0;
  progress('Decoding slices', 0, total);
  while (done < total) {
    await yieldToMessages();
    if (cancelRequested) {
      session.cancelLoad();
      post({ type: 'cancelled' });
      return;
    }
    // Four slices per step and thread: one file run per thread in the threaded build.
    const step = 4 * computeThreads;
    if (dropped) {
      const next = Array.from(session.nextFiles(step), (i) => dropped[i]);
      done = session.loadStepFromFiles(next.map((f) => f.name), next.map((f) => f.buffer), step);
    } else {
      done = session.loadStep(step);
    }
    progress('Decoding slices', done, total);
  }
  sendStudy(session.finishLoad());
}

// Only the box of labels an op changed travels to the page (the whole volume after a
// replay); the page patches its copy.
function sendSegmentation(report, timing = {}) {
  const t0 = performance.now();
  const patch = session.labelPatch();
  timing.patch_ms = performance.now() - t0;
  post({ type: 'segmentation', report, patch, timing }, patch ? [patch.data.buffer] : []);
}
// Edits that take a few milliseconds: no progress bar flashing up for them.
const QUICK_OPS = new Set(['paint', 'erase', 'lasso_fill', 'lasso_erase', 'rename_part', 'set_threshold']);

// Mesh objects (mesh_tools.js on the page): sent after every op that may change them.
function sendMeshes() {
  const m = session.meshObjects();
  post({ type: 'meshes', ...m }, [m.positions.buffer, m.indices.buffer]);
}
const MESH_OP_LABELS = {
  mirror_mesh: 'Mirroring', register_mesh: 'Registering', smooth_mesh: 'Smoothing',
  remesh_mesh: 'Remeshing', decimate_mesh: 'Decimating', delete_mesh: 'Deleting',
  smooth_mesh_by: 'Smoothing', repair_mesh: 'Repairing', compare_meshes: 'Comparing',
};

// Print panel (print_tools.js on the page): the print state after every op that may change it.
function sendPrint(seg) {
  const state = session.printState();
  const scene = state.oriented ? session.printScene() : null;
  post({ type: 'print', seg, state, scene }, scene ? [scene.positions.buffer, scene.indices.buffer] : []);
}
// Articular marks (mark_tools.js on the page): every marked surface's marked faces.
function sendMarks(seg, timing = {}) {
  const t0 = performance.now();
  const m = session.articularScene();
  timing.scene_ms = performance.now() - t0;
  post({ type: 'marks', seg, timing, ...m }, [m.positions.buffer, m.indices.buffer]);
}
const PRINT_OP_LABELS = {
  orient_print: 'Searching build directions', print_supports: 'Generating supports',
  slice_print: 'Slicing and hatching', build_plate: 'Building and slicing the plate',
};

const handlers = {
  async op({ op }) {
    if (!QUICK_OPS.has(op.op)) progress('Working on the bones', 0, 1);
    const t0 = performance.now();
    const report = session.applyOp(op);
    const t1 = performance.now();
    sendSegmentation(report, { apply_ms: t1 - t0 });
    // An edit of a marked part moves its marks to its new surface (or drops them).
    if (session.marksTouchedByLastOp()) sendMarks();
  },
  async replay({ ops }) {
    progress('Replaying the design', 0, 1);
    sendSegmentation(session.replayOps(ops));
    sendMeshes();
    sendMarks();
    sendPrint();
  },
  async undo() { sendSegmentation(session.undo()); sendMeshes(); sendMarks(); sendPrint(); },
  async redo() { sendSegmentation(session.redo()); sendMeshes(); sendMarks(); sendPrint(); },
  async markop({ op, label }) {
    progress(label || 'Marking', 0, 1);
    const t0 = performance.now();
    const seg = session.applyMeshOp(op, (done, total) => progress(label || 'Marking', done, total));
    const apply_ms = performance.now() - t0;
    if (op.target && op.target.mesh !== undefined) sendMeshes();
    sendMarks(seg, { apply_ms });
  },
  async printop({ op }) {
    const label = PRINT_OP_LABELS[op.op] || 'Preparing the print';
    progress(label, 0, 1);
    sendPrint(session.applyMeshOp(op, (done, total) => progress(label, done, total)));
  },
  async printpreview({ rank, r }) { post({ type: 'printpreview', ...session.printPreview(rank, r[0], r[1], r[2]) }); },
  async printlayer({ plate, k }) { post({ type: 'printlayer', ...session.printLayer(plate, k) }); },
  async printexport({ kind, plate, layer, name }) {
    const bytes = session.exportPrint(kind, plate, layer, (done, total) => progress('Writing the scan paths', done, total));
    post({ type: 'export', name, bytes }, [bytes.buffer]);
  },
  async meshop({ op }) {
    const label = MESH_OP_LABELS[op.op] || 'Working on the mesh';
    progress(label, 0, 1);
    const seg = session.applyMeshOp(op, (done, total) => progress(label, done, total));
    const m = session.meshObjects();
    post({ type: 'meshes', seg, ...m }, [m.positions.buffer, m.indices.buffer]);
    sendMarks();
  },
  async meshmeasure({ target, sha }) {
    post({ type: 'meshmeasure', target, sha, m: session.measureSurface(target) });
  },
  async meshexport({ kind, id, name }) {
    const bytes = kind === 'stl' ? session.exportMeshStl(id) : session.exportAll3mf();
    post({ type: 'export', name, bytes }, [bytes.buffer]);
  },
  async parts({ iso }) {
    progress('Calculating part surfaces', 0, 1);
    const r = session.calculateParts(iso);
    post({ type: 'parts', ...r }, [r.positions.buffer, r.indices.buffer]);
    sendMarks();
  },
  // Pool threads that have run a unit of work so far (the threads e2e test asks).
  async threads() { post({ type: 'threads', used: threaded ? threaded.threadsUsed() : 0 }); },
  // The full label digest, only when asked (a test, a check across a design call).
  async digest() { post({ type: 'digest', sha: session.labelsSha256() }); },
  async meshlink({ id }) {
    post({ type: 'meshlink', link: session.meshLink(id) });
  },
  async history({ design }) {
    progress('Building every output for the design history', 0, 1);
    post({ type: 'history', ...session.designHistory(design) });
  },
  async export({ kind, label, name }) {
    const bytes = kind === 'stl' ? session.exportStl(label) : session.export3mf();
    post({ type: 'export', name, bytes }, [bytes.buffer]);
  },
  async demo() {
    const report = session.openDemo((done, total) => progress('Generating demo study', done, total));
    sendStudy(report);
  },
  async files({ files }) {
    session.clearFiles();
    const isZip = (f) => { const b = new Uint8Array(f.buffer, 0, Math.min(4, f.buffer.byteLength)); return b[0] === 0x50 && b[1] === 0x4b && b[2] === 3 && b[3] === 4; };
    let scan;
    if (files.some(isZip)) {
      dropped = null;
      for (const f of files) session.addFile(f.name, new Uint8Array(f.buffer));
      progress('Reading headers', 0, 1);
      scan = session.scan();
    } else {
      dropped = files;
      for (const [i, f] of files.entries()) {
        session.scanAdd(f.name, new Uint8Array(f.buffer));
        if (i % 50 === 0) progress('Reading headers', i, files.length);
      }
      scan = session.scanFinish();
    }
    post({ type: 'scanned', ...scan });
  },
  async load({ seriesId, pixelSpacing }) {
    await loadSeries(seriesId, pixelSpacing);
  },
  async adopt({ volume, dims, spacing, affine, source }) {
    progress('Restoring the study', 0, 1);
    const fingerprint = session.adoptVolume(volume, dims, spacing, affine, source);
    post({ type: 'adopted', fingerprint });
  },
  async failForTest({ kind, seconds }) { session.failForTest(kind, seconds || 0); },
  async surface({ iso }) {
    progress('Extracting bone surface', 0, 1);
    const m = session.previewSurface(iso);
    post({ type: 'surface', positions: m.positions, normals: m.normals, indices: m.indices },
      [m.positions.buffer, m.normals.buffer, m.indices.buffer]);
  },
};

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === 'cancel') { cancelRequested = true; return; }
  try {
    await ready;
    await handlers[msg.type](msg);
  } catch (e) {
    // A trap (a Rust panic, running out of memory) leaves the wasm instance unusable:
    // the page must replace this worker.
    const fatal = e instanceof WebAssembly.RuntimeError || /out of memory|unreachable/i.test(errorText(e));
    post({ type: 'error', context: msg.type, message: errorText(e), fatal });
  }
};
