// Opens the bench page in Debian's Chromium and prints its JSON. BASE_URL must serve the repo root.
import { createRequire } from 'node:module';

// playwright-core is installed with the e2e tests.
const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const base = process.env.BASE_URL || 'http://127.0.0.1:8080/';
const reps = process.env.REPS || '5';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = await browser.newPage();
await page.goto(`${base}www/bench.html?reps=${reps}`);
await page.waitForSelector('body[data-done="true"]', { timeout: 20 * 60 * 1000 });
console.log(await page.$eval('#results', (e) => e.textContent));
await browser.close();
