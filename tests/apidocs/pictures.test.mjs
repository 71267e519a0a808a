// The pictures of the API (issue 14 item 5) in headless Chromium, as a
// browser gets them: an incident's timeline and an entity's gap analysis,
// each opened at its URL (with the tenant's key as Authorization), parsed
// as SVG without an error, run no script although their titles try, and
// drawn: the screenshots (<build>/tests/apidocs/timeline.png and
// gap-analysis.png) are not blank, and show the colours the pictures
// promise (red for a late deadline and for gaps).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { baseUrl, call, env, launchChromium, newTenant } from './lib.mjs';

const shots = join(env('BULWARK_BUILD_DIR'), 'tests/apidocs');
const XSS = '</text><script>alert(1)</script><text>';
let browser, page, tenant, entity, incident;
const dialogs = [];

async function post(path, body, contentType = 'application/json') {
  const res = await fetch(baseUrl() + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}`, 'content-type': contentType },
    body: contentType === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await res.text();
  assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  tenant = await newTenant('Pictures');
  entity = (await post('/v1/entities', {
    name: 'Acme Cloud SE', timeZone: 'Europe/Berlin',
    activities: [{ entityType: 'digital_infra.cloud', principalActivity: true }],
    size: { staffHeadcount: 60, annualTurnoverEur: '12000000', balanceSheetTotalEur: '12000000' },
    memberState: { establishment: 'DE' },
  })).id;
  await post(`/v1/entities/${entity}/controls:import`,
    'ref,applicable,status,justification\nA.5.1,true,IMPLEMENTED,Policy\nA.5.2,true,IMPLEMENTED,Roles\n' +
    'A.5.24,true,IMPLEMENTED,Plan\nA.5.25,true,IMPLEMENTED,Triage\nA.5.26,true,IMPLEMENTED,Runbooks\n' +
    'A.5.29,true,PARTIAL,Drafted\nA.8.13,true,IMPLEMENTED,Backups\n', 'text/csv');
  incident = (await post('/v1/incidents', {
    entity, title: `Ransomware ${XSS}`, awareAt: '2025-06-10T09:15:00+02:00', significant: true,
  })).id;
  await post(`/v1/incidents/${incident}/events`, {
    type: 'EARLY_WARNING_SUBMITTED', occurredAt: '2025-06-11T14:00:00+02:00', note: XSS,
  });

  browser = await launchChromium({ width: 1200, height: 700 });
  page = browser.page;
  page.setDefaultTimeout(30000);
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.setExtraHTTPHeaders({ authorization: `Bearer ${tenant.key}` });
});

after(async () => {
  await browser?.close();
});

// Pixels of a PNG file by colour, counted in the browser (a canvas reads
// what Chromium decoded): how many are not white, and how many are close
// to each colour asked about.
async function pixels(file, colours) {
  const probe = await browser.context.newPage();
  const data = readFileSync(file).toString('base64');
  const counts = await probe.evaluate(async ({ data, colours }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, img.width, img.height).data;
    const out = { total: img.width * img.height, notWhite: 0 };
    for (const name of Object.keys(colours)) out[name] = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240) out.notWhite++;
      for (const [name, [r, g, b]] of Object.entries(colours))
        if (Math.abs(px[i] - r) < 12 && Math.abs(px[i + 1] - g) < 12 && Math.abs(px[i + 2] - b) < 12)
          out[name]++;
    }
    return out;
  }, { data, colours });
  await probe.close();
  return counts;
}

// Opens url in Chromium: the reply must be an SVG document that parsed.
async function open(url) {
  const res = await page.goto(url);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /^image\/svg\+xml/);
  const root = await page.evaluate(() => ({
    name: document.documentElement.localName,
    ns: document.documentElement.namespaceURI,
    errors: document.getElementsByTagName('parsererror').length,
    scripts: document.getElementsByTagName('script').length,
  }));
  assert.deepEqual(root, { name: 'svg', ns: 'http://www.w3.org/2000/svg', errors: 0, scripts: 0 });
}

test('the timeline renders, with the late deadline in red, and runs no script', async () => {
  await open(`${baseUrl()}/v1/incidents/${incident}/timeline.svg`);
  const title = await page.evaluate(() => document.querySelector('svg > text').textContent);
  assert.equal(title, `Ransomware ${XSS}`);
  const file = join(shots, 'timeline.png');
  await page.screenshot({ path: file });
  const n = await pixels(file, { red: [0xc6, 0x28, 0x28], blue: [0x15, 0x65, 0xc0] });
  assert.ok(n.notWhite > n.total / 100, `only ${n.notWhite} of ${n.total} pixels drawn`);
  assert.ok(n.red > 50, `late deadline not red: ${n.red} red pixels`);
  assert.ok(n.blue > 50, `event not drawn: ${n.blue} blue pixels`);
  assert.deepEqual(dialogs, []);
});

test('the gap analysis renders its bars and legend', async () => {
  await open(`${baseUrl()}/v1/entities/${entity}/gap-analysis.svg`);
  const labels = await page.evaluate(
    () => [...document.querySelectorAll('g.row text:first-child')].map((t) => t.textContent));
  assert.deepEqual(labels, ['21.2.a', '21.2.b', '21.2.c', '21.2.d', '21.2.e', '21.2.f', '21.2.g',
    '21.2.h', '21.2.i', '21.2.j', 'other']);
  const file = join(shots, 'gap-analysis.png');
  await page.screenshot({ path: file });
  const n = await pixels(file, { red: [0xc6, 0x28, 0x28], amber: [0xf9, 0xa8, 0x25] });
  assert.ok(n.notWhite > n.total / 100, `only ${n.notWhite} of ${n.total} pixels drawn`);
  // Bars, not only the legend's squares (196 pixels each): the SoA leaves
  // gaps and partly covers incident handling.
  assert.ok(n.red > 2000, `no gap drawn: ${n.red} red pixels`);
  assert.ok(n.amber > 2000, `no partial coverage drawn: ${n.amber} amber pixels`);
});

test('a picture asked for as JSON is a 406 problem', async () => {
  const r = await call('GET', `/v1/entities/${entity}/gap-analysis.svg`,
    { token: tenant.key, headers: { accept: 'application/json' } });
  assert.equal(r.status, 406);
  assert.equal(r.json.reason, 'NOT_ACCEPTABLE');
});
