// Helpers shared by the suites of tests/apidocs: the stack's address from
// the environment deploy/local/test.sh exports, HTTP with a bearer token,
// a tenant of one's own (so that the tenant's rate limit is not shared
// with other suites), and headless Chromium for the suites that look at
// pages.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function env(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run through make test (deploy/local/test.sh)`);
  return value;
}

export const baseUrl = () => env('BULWARK_TEST_URL');

// One request; the reply's status, headers and parsed JSON (or text).
export async function call(method, path, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(baseUrl() + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

// A new tenant; returns its id and its first admin key's token.
export async function newTenant(name) {
  const r = await call('POST', '/v1/tenants', {
    token: env('BULWARK_TEST_OPERATOR_TOKEN'),
    body: { name },
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.tenant.id, key: r.json.apiKey.secret };
}

// Every operation of an OpenAPI document: method (upper case), path, the operation.
export function operations(doc) {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item))
      out.push({ method: method.toUpperCase(), path, op });
  return out;
}

// Headless Chromium (Debian's package, or BULWARK_CHROMIUM), driven by
// playwright-core, on a new profile and without Chromium's own traffic;
// the viewport is width by height. Returns the context, its first page
// and close(), which ends the browser and removes the profile.
export async function launchChromium(viewport) {
  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'bulwark-chromium-'));
  const removeProfile = () => rmSync(userDataDir, { recursive: true, force: true });
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.BULWARK_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport,
    });
  } catch (e) {
    removeProfile();
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close();
    removeProfile();
  };
  return { context, page, close };
}
