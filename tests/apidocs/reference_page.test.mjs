// The API reference page at /docs, in headless Chromium (Debian's package,
// driven by playwright-core): it lists every operation of /v1/openapi.json,
// loads nothing from another origin and trips no Content-Security-Policy
// rule, and "try it" with a pasted API key creates a resource on the
// running stack. Screenshots go to <build>/tests/apidocs/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { baseUrl, call, env, launchChromium, newTenant, operations } from './lib.mjs';

const shots = join(env('BULWARK_BUILD_DIR'), 'tests/apidocs');
let browser, page;
const seen = { requests: [], console: [], errors: [] };

before(async () => {
  mkdirSync(shots, { recursive: true });
  browser = await launchChromium({ width: 1400, height: 900 });
  const { context } = browser;
  context.on('request', (r) => seen.requests.push(r.url()));
  context.on('console', (m) => seen.console.push(`${m.type()}: ${m.text()}`));
  context.on('weberror', (e) => seen.errors.push(String(e.error())));
  // One page for every test: Scalar renders the whole document on load.
  page = browser.page;
  page.setDefaultTimeout(60000);
  await page.goto(`${baseUrl()}/docs`);
  await page.locator('li[data-sidebar-id$="/tag/scoping"]').waitFor();
});

after(async () => {
  await browser?.close();
});

test('the page is served with a strict Content-Security-Policy', async () => {
  const r = await call('GET', '/docs');
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'[;]/);
  assert.match(csp, /connect-src 'self'[;]/);
  assert.match(csp, /default-src 'none'/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  // The bundle comes gzip-coded to a browser, and revalidates to a 304.
  const js = await fetch(`${baseUrl()}/docs/scalar.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  await js.arrayBuffer();
  const again = await call('GET', '/docs/scalar.js',
    { headers: { 'if-none-match': js.headers.get('etag') } });
  assert.equal(again.status, 304);
});

test('every operation of /v1/openapi.json is listed', async () => {
  const doc = (await call('GET', '/v1/openapi.json')).json;
  // Open every tag's group in the sidebar.
  for (;;) {
    const closed = page.getByRole('button', { name: /^Open Group - (?!Models$)/ });
    if ((await closed.count()) === 0) break;
    await closed.first().click();
  }
  // Each entry is "<document>/tag/<tag>/<METHOD><path>" and shows the summary.
  const listed = await page.locator('li[data-sidebar-id*="/tag/"]').evaluateAll((items) =>
    items.map((li) => ({ id: li.dataset.sidebarId, text: li.querySelector('a')?.textContent ?? '' })));
  const byKey = new Map();
  for (const { id, text } of listed) {
    const m = /^[^/]+\/tag\/[^/]+\/(GET|POST|PUT|PATCH|DELETE)(\/.*)$/.exec(id);
    if (m) byKey.set(`${m[1]} ${m[2]}`, text);
  }
  const missing = [];
  for (const { method, path, op } of operations(doc)) {
    const text = byKey.get(`${method} ${path}`);
    if (text === undefined || !text.includes(op.summary)) missing.push(`${method} ${path}`);
  }
  assert.deepEqual(missing, [], `${missing.length} of ${operations(doc).length} not listed`);
  assert.equal(byKey.size, operations(doc).length);
  // The sidebar from its top, beside the introduction.
  await page.locator('li[data-sidebar-id$="/tag/attestations"]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'reference-page.png') });
});

test('"try it" with a pasted key creates an entity on the stack', async () => {
  const { key } = await newTenant('Reference page');
  const token = page.locator('input[placeholder="Token"]').first();
  await token.fill(key);
  await page.locator('li[data-sidebar-id$="/tag/scoping/POST/v1/entities"] a').click();
  const section = page.locator('[id$="/tag/scoping/POST/v1/entities"]');
  await section.getByRole('button', { name: /Test Request/ }).click();
  const send = page.getByRole('button', { name: /^Send/ }).first();
  await send.waitFor();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${baseUrl()}/v1/entities` &&
      r.request().method() === 'POST'),
    send.click(),
  ]);
  // The example body went out with the pasted key, and the stack took it.
  assert.equal(response.request().headers().authorization, `Bearer ${key}`);
  assert.equal(response.status(), 201, await response.text());
  const created = await response.json();
  assert.equal(created.name, 'Acme Cloud SE');
  await page.getByText('201 Created').first().waitFor();
  await page.screenshot({ path: join(shots, 'reference-page-try-it.png') });
  const listed = await call('GET', '/v1/entities', { token: key });
  assert.deepEqual(listed.json.entities.map((e) => e.id), [created.id]);
});

test('nothing came from another origin, and nothing was refused', () => {
  const origin = new URL(baseUrl()).origin;
  const foreign = seen.requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
  assert.deepEqual(foreign, []);
  assert.deepEqual(seen.console.filter((m) => /Content.Security.Policy|Refused to/i.test(m)), []);
  assert.deepEqual(seen.console.filter((m) => m.startsWith('error')), []);
  assert.deepEqual(seen.errors, []);
});
