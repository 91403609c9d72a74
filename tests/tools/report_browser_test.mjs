// The HTML report in a real browser (headless Chromium driven by playwright-core, pinned in
// tests/mcp/node/package-lock.json): `agenttrace report` on the golden coding-agent sessions plus a
// session whose recorded paths, argv and tool names carry HTML/JS injections, then checks that the
// page loads without console errors or network requests, shows the verdict, filters by decision,
// jumps from a finding to its event, and shows every injection as text without running it.
//
// Exit 0: passed; 1: failed; 77 (ctest SKIP_RETURN_CODE): Chromium is not installed, nothing was
// tested. Any other missing piece (node modules, the binary) is a failure, never a skip.
//
// Usage: node report_browser_test.mjs --agenttrace BIN --node-dir DIR --golden DIR --work DIR
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['agenttrace', 'node-dir', 'golden', 'work']) {
  if (!args[k]) { console.error(`usage: --${k} is required`); process.exit(1); }
}
const chromiumPath = process.env.AGENTTRACE_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromiumPath)) {
  console.log(`SKIPPED: Chromium is not installed at ${chromiumPath} (Debian package "chromium", or set ` +
              'AGENTTRACE_CHROMIUM); the HTML report browser test did NOT run.');
  process.exit(77);
}
let playwright;
try {
  playwright = createRequire(path.join(path.resolve(args['node-dir']), 'package.json'))('playwright-core');
} catch (e) {
  console.error(`FAILED: playwright-core is missing in ${args['node-dir']}/node_modules (run \`npm ci\` there): ${e.message}`);
  process.exit(1);
}

let failures = 0;
function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || detail === '' ? '' : ': ' + detail}`);
  if (!ok) failures++;
}

// ---- a session an attacker shaped: injections in paths, argv, tool names and arguments ----
const work = path.resolve(args.work);
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const IMG = '<img src=x onerror="window.__xss=1;console.error(\'xss ran\')">';
const CLOSE = '</script><script>window.__xss=2</script>';
const header = {
  format: 'agenttrace-jsonl', version: 1,
  session: {
    id: '0190b5c4-8e1a-7abc-9def-0000000000ff', label: 'injection', agent_name: 'evil</title><script>x()</script>',
    agent_version: '1', argv: ['agent'], cwd: '/home/dev/repo', home: '/home/dev', tmp: '/tmp', host: 'ci', user: 'dev',
    kernel: '6.1.0', arch: 'x86_64', start_ns: 1732650000000000000, end_ns: 1732650001000000000, exit_code: 0,
    exit_signal: 0, state: 'complete', event_count: 0, env_names: [], secret_env_names: [], recorder: 'synthetic',
  },
};
const t0 = 1732650000000000000n;
const ev = [];
function add(pid, kind, fields) {
  const seq = ev.length;
  ev.push({ seq, ts_ns: (t0 + BigInt(seq) * 10000000n).toString(), mono_ns: 5000000000 + seq * 10000000, pid, tid: pid, kind, ...fields });
}
add(300, 'exec', { result: 0, path: '/usr/bin/bash', argv: ['bash', '-c', IMG] });
add(300, 'proc.spawn', { result: 301, child_pid: 301 });
add(301, 'exec', { result: 0, path: '/usr/bin/cat', argv: ['cat', CLOSE] });
add(301, 'file.open', { result: 3, path: '/home/dev/repo/' + IMG, flags: 0 });
add(301, 'file.open', { result: 3, path: '/home/dev/repo/' + CLOSE + '\u2028\\xff', flags: 0 });
add(0, 'tool.call', { server: 'fs', tool: 'read' + IMG, request_id: '7', json: JSON.stringify({ path: CLOSE }), direction: 'to_server' });
add(0, 'tool.result', { server: 'fs', tool: 'read' + IMG, request_id: '7', json: '{}', duration_ns: 25000000, direction: 'to_agent' });
add(301, 'file.open', { result: 3, path: '/home/dev/.ssh/' + IMG, flags: 0 });
add(301, 'proc.exit', { exit_code: 0 });
// JSON numbers lose precision past 2^53: write ts_ns as a bare integer token.
const lines = [JSON.stringify(header), ...ev.map((e) => JSON.stringify(e).replace(/"ts_ns":"(\d+)"/, '"ts_ns":$1'))];
const evil = path.join(work, 'injection.jsonl');
fs.writeFileSync(evil, lines.join('\n') + '\n');

const golden = path.resolve(args.golden);
const sessions = ['run1', 'run2', 'run3'].map((r) => path.join(golden, 'sessions', r + '.jsonl'));
const out = path.join(work, 'report.html');
function report(dest) {
  return spawnSync(args.agenttrace, ['report', '--policy', path.join(golden, 'policy.yaml'), ...sessions, evil, '-o', dest],
                   { encoding: 'utf8' });
}
const r = report(out);
check(r.status === 1, 'agenttrace report exits 1 (not promotable)', `exit ${r.status}: ${r.stderr}`);
if (!fs.existsSync(out)) { console.error('FAILED: no report written'); process.exit(1); }
const again = report(path.join(work, 'again.html'));
check(again.status === 1 && fs.readFileSync(out).equals(fs.readFileSync(path.join(work, 'again.html'))),
      'the same sessions and policy give a byte-identical page');
const viaReplay = spawnSync(args.agenttrace, ['replay', '--policy', path.join(golden, 'policy.yaml'), ...sessions, evil,
                                              '--html', path.join(work, 'replay.html')], { encoding: 'utf8' });
check(viaReplay.status === 1 && fs.readFileSync(out).equals(fs.readFileSync(path.join(work, 'replay.html'))),
      '`replay --html` writes the same page', `exit ${viaReplay.status}: ${viaReplay.stderr}`);
const noOutput = spawnSync(args.agenttrace, ['report', '--policy', path.join(golden, 'policy.yaml'), ...sessions], { encoding: 'utf8' });
check(noOutput.status === 2 && /output/.test(noOutput.stderr), '`report` without -o is a usage error', noOutput.stderr);
const html = fs.readFileSync(out, 'utf8');
check(!html.includes('<img') && !html.includes('</script><script>window'), 'no injected markup in the file itself');

// ---- the browser ----
// Chromium starts in a second or two; a loaded CI machine (other tests beside it on 2 cores) may take
// far longer, and the launch must not be what fails: 90 s, within ctest's 120.
const browser = await playwright.chromium.launch({
  executablePath: chromiumPath, headless: true, timeout: 90_000,
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors = [], requests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (q) => { if (!q.url().startsWith('file:')) requests.push(q.url()); });
  await page.goto(pathToFileURL(out).href);
  await page.waitForSelector('#verdict');

  check((await page.textContent('#verdict')) === 'NOT promotable', 'the verdict text is shown', await page.textContent('#verdict'));
  const labels = await page.$$eval('#labels tr.label-row td:first-child', (tds) => tds.map((t) => t.textContent));
  check(JSON.stringify(labels) === JSON.stringify(['fix-tests', 'injection']), 'one verdict row per label', JSON.stringify(labels));
  check(await page.locator('ul.criteria li', { hasText: 'FAIL max_violations: 5 deny(s), allowed <= 0' }).count() === 1 &&
        await page.locator('ul.criteria li', { hasText: 'FAIL max_violations: 2 deny(s), allowed <= 0' }).count() === 1,
        'the failed criteria are spelled out per label');
  check(await page.locator('ul.criteria li.met', { hasText: 'agent_ran' }).count() === 2, 'the criteria met are listed per label');

  // Filter session run3 (index 2) by deny: only its 5 denied events remain, as rows and as marks.
  await page.selectOption('#session-select', '2');
  await page.selectOption('#f-decision', 'deny');
  const decs = await page.$$eval('#events tr[data-seq] td.dec', (tds) => tds.map((t) => t.textContent));
  check(decs.length === 5 && decs.every((d) => d.startsWith('deny')), 'filtering by deny leaves only denied events', JSON.stringify(decs));
  const marks = await page.$$eval('#lanes .mark', (ms) => ms.map((m) => m.getAttribute('data-decision')));
  check(marks.length === 5 && marks.every((d) => d === 'deny'), 'the timeline keeps only deny marks', JSON.stringify(marks));
  await page.fill('#f-text', 'id_ed25519');
  check(await page.locator('#events tr[data-seq]').count() === 1, 'filtering by path substring');
  await page.selectOption('#f-decision', '');
  await page.fill('#f-text', '');

  // Zoom doubles the track width.
  const w0 = await page.$eval('#lanes .row[data-pid="200"] .track', (t) => t.getBoundingClientRect().width);
  await page.click('#zoom-in');
  const w1 = await page.$eval('#lanes .row[data-pid="200"] .track', (t) => t.getBoundingClientRect().width);
  check(w1 > 1.9 * w0, 'zoom in widens the timeline', `${w0} -> ${w1}`);

  // A finding of run3 from the findings table: the timeline switches to its session, highlights and
  // scrolls to its event and shows the rules considered.
  await page.selectOption('#session-select', '0');
  await page.selectOption('#f-decision', 'allow');
  const finding = page.locator('#findings tr[data-session="2"][data-seq="9"]');
  check(await finding.count() === 1, 'the findings table lists run3 seq 9');
  await finding.locator('a.goto').click();
  check((await page.inputValue('#session-select')) === '2', 'clicking a finding selects its session');
  const hl = page.locator('#events tr.hl');
  check(await hl.count() === 1 && (await hl.getAttribute('data-seq')) === '9', 'clicking a finding highlights its event');
  check(await hl.isVisible() && await hl.evaluate((n) => { const b = n.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; }),
        'the highlighted event is scrolled into view');
  check((await page.locator('#lanes .mark.sel').getAttribute('data-seq')) === '9', 'its timeline mark is selected');
  const explain = await page.textContent('#detail-explain');
  check(explain.includes('sequence rule exfiltration') && explain.includes('decision: deny by rule exfiltration'),
        'the event shows the rules considered', explain);
  check((await page.textContent('#detail-record')).includes('"address": "203.0.113.9"'), 'the event shows its full record');

  // The injection session: every payload is text.
  await page.selectOption('#session-select', '3');
  const whats = await page.$$eval('#events td.what', (tds) => tds.map((t) => t.textContent));
  check(whats.some((w) => w.includes(IMG)) && whats.some((w) => w.includes('</script><script>window.__xss=2</script>')),
        'the injected path and argv are shown as text', JSON.stringify(whats).slice(0, 400));
  await page.click('#events tr[data-seq="4"]');
  check((await page.textContent('#detail-what')).includes(CLOSE), 'the event detail shows the </script> payload as text');
  const procs = await page.$$eval('#lanes .row-label', (ls) => ls.map((l) => l.textContent));
  check(procs.some((p) => p.includes('301') && p.includes('cat')) && procs.some((p) => p.includes('tool calls')),
        'processes (fork/exec tree) and tool calls are rows', JSON.stringify(procs));
  check(await page.locator('#lanes .span').count() === 1, 'the tool call is drawn as a span');
  check(await page.evaluate(() => window.__xss) === undefined, 'no injected script or handler ran');
  check(await page.locator('img').count() === 0 && await page.locator('script').count() === 2, 'no injected element exists');

  await page.selectOption('#diff-select', { index: 1 });
  check((await page.textContent('#diff-verdict')).includes('differently'), 'the behaviour diff between run2 and run3');

  check(consoleErrors.length === 0, 'no console errors', JSON.stringify(consoleErrors));
  check(requests.length === 0, 'no network requests', JSON.stringify(requests));
} finally {
  await browser.close();
}
console.log(failures === 0 ? 'PASSED' : `FAILED: ${failures} check(s)`);
process.exit(failures === 0 ? 0 : 1);
