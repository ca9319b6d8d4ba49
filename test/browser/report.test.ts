/**
 * The HTML report as a person sees it, in a real browser: Debian's Chromium (`/usr/bin/chromium`,
 * installed by scripts/install-chromium.sh, which CI runs) driven headless by playwright-core.
 * The page is opened from a file as a reader would open it; the test checks the verdict, the
 * count of findings, the timeline's days and segments, a finding's code and meaning, and that
 * the page makes no request beyond its own file and runs no script, even one planted in it. The
 * last test goes through the real CLI: a store pulled into an evidence bundle, `report --bundle
 * --html` on it clean and after one byte of a pulled segment was changed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { buildReport } from '../../src/app/report.js';
import { renderReportHtml } from '../../src/cli/html-report.js';
import { FINDING_CODES } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { runCli, sampleStore, segmentPath } from '../helpers/cli.js';
import { logFixture, makeKey, writeLog } from '../helpers/log-fixture.js';

const CHROMIUM = process.env.AUDITLOCK_CHROMIUM ?? '/usr/bin/chromium';
const DAY = 86_400_000;
const DAY1 = Date.UTC(2026, 10, 24, 9, 0, 0);
/** An object key that is markup: it must show as text and do nothing. */
const HOSTILE_KEY = 'main/<img src="x.png" onerror="document.title=1">';

let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} not found: the browser test needs Debian's chromium (run scripts/install-chromium.sh, or set AUDITLOCK_CHROMIUM)`,
    );
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  dir = await mkdtemp(join(tmpdir(), 'auditlock-report-browser-'));
});

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Log `main` over three UTC days: 2, 3 and 1 segments (60 entries). */
async function threeDays() {
  const store = new MemoryStore();
  const key = makeKey('auditor-key');
  const fx = logFixture(store, key);
  fx.clock.set(DAY1);
  await writeLog(fx, 20, 10, 0);
  fx.clock.set(DAY1 + DAY);
  await writeLog(fx, 30, 10, 20);
  fx.clock.set(DAY1 + 2 * DAY);
  await writeLog(fx, 10, 10, 50);
  return { store, key };
}

/** A copy of `store` with one byte of segment 2's body flipped and a hostile extra object. */
async function tamperedCopy(store: ObjectStore): Promise<MemoryStore> {
  const copy = new MemoryStore();
  for await (const o of store.list('')) {
    const bytes = ((await store.get(o.key)) as Uint8Array).slice();
    if (o.key === segmentKey('main', 2))
      bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 1;
    await copy.putIfAbsent(o.key, bytes);
  }
  await copy.putIfAbsent(HOSTILE_KEY, new Uint8Array([1]));
  return copy;
}

/** Writes the page to a file, opens it, and records every request it makes. */
async function open(
  html: string,
  name: string,
): Promise<{ page: Page; requests: string[]; url: string }> {
  const file = join(dir, name);
  await writeFile(file, html);
  const url = pathToFileURL(file).href;
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  // Anything that is not the page itself is refused, should the page ever ask.
  // A script asked for is served (so that only the page's CSP can stop it from running).
  await page.route('**/*', (route) => {
    const asked = route.request().url();
    if (asked === url) return route.continue();
    if (asked.endsWith('.js'))
      return route.fulfill({ contentType: 'text/javascript', body: 'document.title="external"' });
    return route.abort();
  });
  await page.goto(url);
  return { page, requests, url };
}

describe('the HTML report in Chromium', () => {
  it('shows a clean log: the verdict first, three days and six segments in the timeline', async () => {
    const { store, key } = await threeDays();
    const report = await buildReport(store, {
      trustedKeys: [key.trusted],
      now: () => DAY1 + 9 * DAY,
    });
    const { page, requests, url } = await open(renderReportHtml(report), 'clean.html');

    const verdict = page.locator('#verdict .verdict-text');
    expect(await verdict.innerText()).toBe('VERIFIED: no findings');
    // The verdict is the first thing under the title.
    expect(await page.locator('body > :nth-child(2)').getAttribute('id')).toBe('verdict');
    const days = page.locator('table.timeline[data-log="main"] tbody tr.day');
    expect(await days.count()).toBe(3);
    const dayText = await days.allInnerTexts();
    expect(dayText.map((t) => t.split('\t').slice(0, 2))).toEqual([
      ['2026-11-24', '2'],
      ['2026-11-25', '3'],
      ['2026-11-26', '1'],
    ]);
    expect(await page.locator('#no-findings').innerText()).toBe('No findings.');
    expect(await page.locator('.finding-group').count()).toBe(0);
    expect(await page.locator('#keys').isVisible()).toBe(true);
    expect(await page.locator('body').innerText()).toContain('auditor-key');
    expect(requests).toEqual([url]);
    expect(await page.locator('script').count()).toBe(0);
    await page.close();
  });

  it('shows a tampered log: FAILED, the count, each code with its meaning, hostile text inert', async () => {
    const { store, key } = await threeDays();
    const bad = await tamperedCopy(store);
    const report = await buildReport(bad, {
      trustedKeys: [key.trusted],
      now: () => DAY1 + 9 * DAY,
    });
    expect(report.ok).toBe(false);
    const { page, requests, url } = await open(renderReportHtml(report), 'tampered.html');
    const titleBefore = await page.title();

    expect(await page.locator('#verdict .verdict-text').innerText()).toBe(
      `FAILED: ${report.findings} findings`,
    );
    expect(Number(await page.locator('#finding-count').innerText())).toBe(report.findings);
    const payload = page.locator('#code-PAYLOAD_HASH_MISMATCH');
    expect(await payload.locator('.code').innerText()).toBe('PAYLOAD_HASH_MISMATCH');
    expect(await payload.locator('.meaning').innerText()).toBe(FINDING_CODES.PAYLOAD_HASH_MISMATCH);
    expect(await payload.locator('.where').first().innerText()).toContain('segment 2');
    // Every group's count adds up to the verdict's.
    const counts = await page.locator('.finding-group .count').allInnerTexts();
    expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBe(report.findings);
    // The day of segment 2 is marked; the timeline still has its three days.
    expect(await page.locator('table.timeline tr.day').count()).toBe(3);
    expect(await page.locator('table.timeline tr.day.has-findings').innerText()).toContain(
      '2026-11-25',
    );
    // The hostile key is shown as text, made no request and ran nothing.
    const unexpected = page.locator('#code-UNEXPECTED_OBJECT .where');
    expect(await unexpected.innerText()).toBe(HOSTILE_KEY);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).toBe(titleBefore);
    expect(requests).toEqual([url]);
    await page.close();
  });

  it('blocks a script planted in the page (its Content-Security-Policy admits none)', async () => {
    const { store, key } = await threeDays();
    const html = renderReportHtml(
      await buildReport(store, { trustedKeys: [key.trusted], now: () => DAY1 }),
    );
    // As if a rendering bug let markup through: an inline script and an external one.
    const planted = html.replace(
      '</body>',
      '<script>document.title="ran"</script><script src="http://192.0.2.1/x.js"></script></body>',
    );
    const { page, requests, url } = await open(planted, 'planted.html');
    // Neither the inline script nor the external one (served if fetched) ran.
    const title = await page.title();
    expect(title).not.toBe('ran');
    expect(title).not.toBe('external');
    expect(requests.every((r) => r === url || r === 'http://192.0.2.1/x.js')).toBe(true);
    // The style sheet, admitted by its hash, did apply: the verdict box has its border.
    const border = await page.locator('#verdict').evaluate(
      (e) =>
        (
          globalThis as unknown as {
            getComputedStyle(el: unknown): { borderTopStyle: string };
          }
        ).getComputedStyle(e).borderTopStyle,
    );
    expect(border).toBe('solid');
    await page.close();
  });

  it('the CLI report of a pulled evidence bundle, clean and after a byte of it changed', async () => {
    // Prepare: the sample store (10 segments) pulled into a bundle
    const { store, keys } = await sampleStore(dir);
    const bundle = join(dir, 'bundle');
    const pulled = await runCli(['pull', store, '--out', bundle, '--pubkey', keys.publicKey]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const report = async (name: string) => {
      const html = join(dir, name);
      const r = await runCli([
        'report',
        bundle,
        '--bundle',
        '--pubkey',
        keys.publicKey,
        '--html',
        html,
      ]);
      return { r, ...(await open(await readFile(html, 'utf8'), name)) };
    };

    // Act
    const clean = await report('bundle-clean.html');
    const segment = segmentPath(bundle, 4);
    const bytes = await readFile(segment);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0x20;
    await writeFile(segment, bytes);
    const tampered = await report('bundle-tampered.html');

    // Assess
    expect(clean.r.code, clean.r.stderr).toBe(0);
    expect(await clean.page.locator('#verdict .verdict-text').innerText()).toBe(
      'VERIFIED: no findings',
    );
    expect(await clean.page.locator('table.timeline tr.day').count()).toBeGreaterThan(0);
    expect(tampered.r.code).toBe(1);
    const count = Number(await tampered.page.locator('#finding-count').innerText());
    expect(count).toBeGreaterThan(0);
    expect(await tampered.page.locator('#verdict .verdict-text').innerText()).toBe(
      `FAILED: ${count} finding${count === 1 ? '' : 's'}`,
    );
    expect(
      await tampered.page.locator('#code-BUNDLE_MANIFEST_INVALID .where').first().innerText(),
    ).toContain('segment 4');
    expect(tampered.requests).toEqual([tampered.url]);
    await clean.page.close();
    await tampered.page.close();
  });
});
