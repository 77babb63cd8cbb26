// Crash containment and cancel: a panic in the compute worker, or a step the user
// cancels, costs only that step — the worker is replaced, the study and the design are
// restored (same label digest, same link), and the app keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, openPage, waitForStudy, assertSameOrigin } from './harness.mjs';

const browser = useBrowser();

async function demoWithAutoBones(page) {
  await page.click('#open-demo');
  await waitForStudy(page);
  await page.click('#auto-bones');
  await page.waitForFunction(() => window.osteon.seg && window.osteon.seg.parts.length === 12, null, { timeout: 60000 });
  await page.waitForTimeout(400); // the address bar follows after a short pause
  return { sha: await page.evaluate(() => window.osteon.seg.labels_sha256), link: await page.evaluate(() => location.hash) };
}

test('a panic in the worker is contained: the study and the design come back', { timeout: 180000 }, async () => {
  const { page, requests } = await openPage(browser());
  const before = await demoWithAutoBones(page);
  await page.evaluate(() => window.osteon.forceWorkerFailure('panic'));
  await page.waitForFunction(() => /restored/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
  const status = await page.$eval('#status', (e) => e.textContent);
  assert.match(status, /worker failed \(an internal error.*1 operation\(s\)\) are restored/s);
  assert.equal(await page.evaluate(() => window.osteon.seg.labels_sha256), before.sha);
  assert.equal(await page.evaluate(() => location.hash), before.link);
  // The new worker works: grow a part and undo it.
  await page.click('#undo');
  await page.waitForFunction(() => window.osteon.seg.parts.length === 0, null, { timeout: 60000 });
  await page.click('#redo');
  await page.waitForFunction(() => window.osteon.seg.parts.length === 12, null, { timeout: 60000 });
  assertSameOrigin(requests);
  await page.close();
});

test('cancelling a long step stops it at once and leaves the design as it was', { timeout: 180000 }, async () => {
  const { page } = await openPage(browser());
  const before = await demoWithAutoBones(page);
  await page.evaluate(() => window.osteon.forceWorkerFailure('hang', 60));
  await page.waitForSelector('#cancel', { state: 'visible' });
  const started = Date.now();
  await page.click('#cancel');
  await page.waitForFunction(() => /Cancelled\. The worker was restarted/.test(document.getElementById('status').textContent), null, { timeout: 30000 });
  assert.ok(Date.now() - started < 30000, 'cancel should not wait for the 60 s step');
  assert.equal(await page.evaluate(() => window.osteon.seg.labels_sha256), before.sha);
  assert.equal(await page.evaluate(() => location.hash), before.link);
  assert.equal(await page.$eval('#progress', (e) => e.hidden), true, 'the progress bar is gone');
  await page.close();
});
