// The contract itself, from the build's OpenAPI document (no stack needed):
// Redocly's linter with its recommended rules finds nothing, not even a
// warning; every request body has an example; and every operation lists
// the problem responses its route can answer, as the gateway answers them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { env, operations } from './lib.mjs';

const docPath = join(env('BULWARK_BUILD_DIR'), 'tools/codegen/out/openapi.json');
const doc = JSON.parse(readFileSync(docPath, 'utf8'));
const ops = operations(doc);

test('Redocly lint with the recommended rules reports no error and no warning', async () => {
  const redocly = fileURLToPath(new URL('./node_modules/.bin/redocly', import.meta.url));
  const { stdout } = await promisify(execFile)(
    redocly, ['lint', '--extends=recommended', '--format=json', docPath],
    {
      maxBuffer: 64 << 20,
      // No usage report to Redocly and no update check: tests talk to no one.
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  ).catch((err) => err); // exit status 1 on errors: the report says which
  const report = JSON.parse(stdout);
  const problems = report.problems.map(
    (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`);
  assert.deepEqual(problems, [], `redocly ${report.version} found ${problems.length} problems`);
  assert.equal(report.totals.errors + report.totals.warnings, 0);
});

test('every request body has an example', () => {
  const missing = ops
    .filter(({ op }) => op.requestBody)
    .filter(({ op }) => !Object.values(op.requestBody.content).some((m) => m.example ?? m.examples))
    .map(({ method, path, op }) => `${method} ${path} (${op.operationId})`);
  assert.deepEqual(missing, [],
    'add an "Example:" paragraph with the body as JSON at the end of the RPC\'s comment');
});

test('timestamp query parameters are date-time parameters', () => {
  const param = (path, name) =>
    doc.paths[path].get.parameters.find((p) => p.name === name && p.in === 'query');
  for (const [path, name] of [['/v1/deadlines', 'dueBefore'], ['/v1/audit-events', 'since'],
    ['/v1/audit-events', 'until']]) {
    const p = param(path, name);
    assert.ok(p, `${path} has no query parameter ${name}`);
    assert.deepEqual(p.schema, { type: 'string', format: 'date-time' });
  }
});

// The statuses the gateway answers for what a route is, and nothing else.
function expectedProblems({ method, path, op }) {
  const refs = (op.parameters ?? []).map((p) => p.$ref ?? '');
  const statuses = new Set(['400', '503', '504']);
  if (op['x-bulwark-access'] !== 'public') ['401', '403', '429'].forEach((s) => statuses.add(s));
  if (path.includes('{')) statuses.add('404');
  if (method !== 'GET') statuses.add('409');
  if (refs.some((r) => r.endsWith('/IfMatch'))) statuses.add('412');
  if (op.requestBody) ['413', '415'].forEach((s) => statuses.add(s));
  if (refs.some((r) => r.endsWith('/IdempotencyKey'))) statuses.add('422');
  return statuses;
}

// The statuses the rules above decide; a route may list others of its own.
const ruled = new Set(['400', '401', '403', '404', '409', '412', '413', '415', '422', '429', '503',
  '504']);

test('every operation lists the problem responses its route can answer', () => {
  const wrong = [];
  for (const o of ops) {
    const listed = new Set(Object.keys(o.op.responses).filter((s) => /^[45]\d\d$/.test(s)));
    const expected = expectedProblems(o);
    const extra = [...listed].filter((s) => ruled.has(s) && !expected.has(s));
    const missing = [...expected].filter((s) => !listed.has(s));
    if (extra.length || missing.length)
      wrong.push(`${o.method} ${o.path}: missing ${missing} extra ${extra}`);
  }
  assert.deepEqual(wrong, []);
  // Sanity: the rules above are not vacuous on this document.
  const all = new Set(ops.flatMap(({ op }) => Object.keys(op.responses)));
  for (const s of ['400', '401', '403', '404', '409', '412', '413', '415', '422', '429', '503'])
    assert.ok(all.has(s), `no operation lists ${s}`);
});

test('problem responses are RFC 9457 problems with their status and headers', () => {
  const problem = doc.components.schemas.Problem;
  assert.deepEqual(problem.required, ['type', 'title', 'status', 'code', 'reason']);
  for (const member of ['detail', 'instance', 'requestId', 'errors'])
    assert.ok(problem.properties[member], `Problem has no ${member}`);
  for (const { method, path, op } of ops) {
    for (const [status, response] of Object.entries(op.responses)) {
      if (!/^[45]\d\d$/.test(status)) continue;
      const name = response.$ref?.split('/').pop();
      const component = doc.components.responses[name];
      assert.ok(component, `${method} ${path} ${status}: no component ${response.$ref}`);
      const media = component.content['application/problem+json'];
      assert.equal(media.schema.$ref, '#/components/schemas/Problem');
      assert.equal(String(media.example.status), status, `${name}'s example`);
      if (status === '429') {
        assert.ok(component.headers['Retry-After'], '429 without Retry-After');
        assert.ok(component.headers.RateLimit && component.headers['RateLimit-Policy']);
      }
      if (status === '401') assert.ok(component.headers['WWW-Authenticate']);
    }
  }
});

test('tenant routes document the RateLimit fields on success', () => {
  for (const { method, path, op } of ops) {
    if (op['x-bulwark-access'] !== 'tenant') continue;
    const success = Object.entries(op.responses).find(([s]) => /^2/.test(s))[1];
    assert.ok(success.headers?.RateLimit && success.headers['RateLimit-Policy'],
      `${method} ${path}`);
  }
  assert.match(doc.components.headers.RateLimitPolicy.description,
    /draft-ietf-httpapi-ratelimit-headers-11/);
});
