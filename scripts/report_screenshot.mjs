// Screenshots an agenttrace HTML report for the documentation (docs/report.png): the timeline of the
// first session with a finding, that finding's event selected. Headless Chromium through
// playwright-core from tests/mcp/node (`npm ci` there). Used by scripts/report-screenshot.sh.
//
// Usage: node scripts/report_screenshot.mjs REPORT.html OUT.png
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [html, out] = process.argv.slice(2);
if (!html || !out) {
  console.error('usage: node scripts/report_screenshot.mjs REPORT.html OUT.png');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(path.join(root, 'tests/mcp/node/package.json'))('playwright-core');
const browser = await chromium.launch({
  executablePath: process.env.AGENTTRACE_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1240 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(path.resolve(html)).href);
  await page.waitForSelector('#verdict');
  const link = page.locator('#findings a.goto').first();
  if (await link.count()) await link.click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: out });
  if (errors.length) throw new Error('console errors: ' + errors.join('; '));
} finally {
  await browser.close();
}
