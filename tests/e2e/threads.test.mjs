// The threaded build, end to end: served cross-origin isolated (scripts/serve.py, started
// here on a port of its own), the app's compute worker runs www/pkg-threads with a pool of
// two threads, and the units of work really spread over both; the design it makes (Auto
// bones, parts, a print job with supports, slices and hatches) gives the same SHA-256 for
// every output as the single-threaded build opening its link (`?threads=1`, same server)
// and as `osteon replay` natively.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn, execFileSync } from 'node:child_process';
import { useBrowser, openPage, waitForStudy, download, nativeOsteon, ROOT } from './harness.mjs';

const browser = useBrowser();
let server;
let base;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  const port = await freePort();
  server = spawn('python3', [path.join(ROOT, 'scripts/serve.py'), String(port)], { stdio: 'ignore' });
  base = `http://127.0.0.1:${port}/`;
  for (let n = 0; n < 100; n++) {
    try { if ((await fetch(base)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('scripts/serve.py did not start');
});
after(() => server?.kill());

const SCAN = { layer_um: 100, hatch_spacing_um: 110, laser_power_w: 200, scan_speed_mm_s: 1000, contour_count: 2, beam_offset_um: 50, chessboard: false, size_mm: 10, rotation_deg: 67 };
const printOps = (label) => [
  { op: 'orient_print', target: { part: label }, iso_hu: 720, critical_angle_deg: 45, directions: 1000, weights: [1, 0.5, 100], rank: 0, rotate_deg: [0, 0, 0] },
  { op: 'print_supports', critical_angle_deg: 45, spacing_mm: 2, tip_radius_mm: 0.25, base_fraction: 0.4, sides: 8, penetration_mm: 0.1, articular_clearance_mm: 0.5, min_gap_mm: 0.2 },
  { op: 'slice_print', scan: SCAN },
];

const compute = (page) => page.waitForFunction(() => window.osteon.compute, null, { timeout: 60000 }).then((h) => h.jsonValue());

async function record(page) {
  const r = await download(page, '#design-history');
  return JSON.parse(r.bytes.toString('utf8'));
}
const digests = (h) => h.outputs.map((o) => `${o.file} ${o.bytes} ${o.sha256}`);

test('served cross-origin isolated, the app computes on two threads and gives the single-threaded digests', { timeout: 600000 }, async (t) => {
  const { page, requests, errors } = await openPage(browser(), `${base}?threads=2`);
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');
  assert.deepEqual(await compute(page), { build: 'threads', threads: 2 });
  assert.match(await page.$eval('#app-version', (e) => e.textContent), /2 threads/);
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 120000 });
  const bone = await page.evaluate(() => window.osteon.seg.parts.find((p) => p.name === 'right navicular').label);
  let n = 1;
  for (const op of printOps(bone)) {
    await page.evaluate((o) => window.osteon.worker.postMessage({ type: 'printop', op: o }), op);
    await page.waitForFunction((k) => window.osteon.seg.ops.length === k, ++n, { timeout: 240000 });
  }
  await waitForStudy(page);
  const threaded = await record(page);
  const names = threaded.outputs.map((o) => o.file);
  assert.ok(names.includes('print_right_navicular.gcode') && names.filter((f) => f.endsWith('.stl')).length >= 12, `outputs: ${names}`);
  await page.evaluate(() => window.osteon.worker.postMessage({ type: 'threads' }));
  const used = await page.waitForFunction(() => window.osteon.compute.used, null, { timeout: 30000 }).then((h) => h.jsonValue());
  assert.equal(used, 2, 'units of work ran on both pool threads');
  const link = await page.evaluate(() => location.hash);
  assert.deepEqual(requests.filter((u) => !u.startsWith(base) && !/^(data|blob):/.test(u)), [], 'requests left the origin');
  assert.deepEqual(errors, []);
  await page.close();

  // The same link on the single-threaded build.
  const single = await openPage(browser(), `${base}?threads=1${link}`);
  assert.deepEqual(await compute(single.page), { build: 'single', threads: 1 });
  await single.page.waitForFunction((k) => window.osteon.seg && window.osteon.seg.ops.length === k, n, { timeout: 300000 });
  await waitForStudy(single.page);
  const serial = await record(single.page);
  assert.deepEqual(digests(threaded), digests(serial), 'same bytes from both builds');
  await single.page.close();

  const bin = nativeOsteon();
  if (!bin) { t.diagnostic('native CLI not built: compared with the single-threaded build only'); return; }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'osteon-threads-'));
  execFileSync(bin, ['replay', link, '--out', out, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const native = JSON.parse(fs.readFileSync(path.join(out, 'design-history.json'), 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  assert.deepEqual(digests(threaded), digests(native), 'same bytes as osteon replay');
});
