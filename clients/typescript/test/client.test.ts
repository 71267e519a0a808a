// The client against the running stack (make test exports its address and
// the operator token): a tenant of its own, an entity created and
// classified, a Statement of Applicability imported, the incidents paged
// through, and a 404 as a typed problem.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import {
  type BulwarkClient,
  BulwarkProblem,
  createBulwarkClient,
  isProblem,
  rateLimit,
  unwrap,
} from '../src/index.js';

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run through make test (deploy/local/test.sh)`);
  return value;
}

const baseUrl = env('BULWARK_TEST_URL');
let client: BulwarkClient;
let entityId: string;

before(async () => {
  const operator = createBulwarkClient({ baseUrl, token: env('BULWARK_TEST_OPERATOR_TOKEN') });
  const created = await unwrap(
    operator.api.POST('/v1/tenants', { body: { name: 'TypeScript client' } }),
  );
  const secret = created.apiKey?.secret;
  assert.ok(secret?.startsWith('bwk_'));
  client = createBulwarkClient({ baseUrl, token: secret });
});

test('creates an entity and classifies it', async () => {
  const { data, response } = await client.api.POST('/v1/entities', {
    body: {
      name: 'Acme Cloud SE',
      timeZone: 'Europe/Berlin',
      activities: [{ entityType: 'digital_infra.cloud', principalActivity: true }],
      size: { staffHeadcount: 250, annualTurnoverEur: '60000000', balanceSheetTotalEur: '45000000' },
      memberState: { establishment: 'DE', mainEstablishment: 'DE', servicesIn: ['DE', 'FR'] },
    },
  });
  assert.equal(response.status, 201);
  assert.ok(data?.id);
  entityId = data.id;
  // A large cloud provider (NIS2 Annex I) is an essential entity.
  const classification = await unwrap(
    client.api.GET('/v1/entities/{entity}/classification', {
      params: { path: { entity: entityId } },
    }),
  );
  assert.equal(classification.classification, 'ESSENTIAL');
  assert.equal(classification.sizeClass, 'LARGE');
  assert.ok(classification.basis?.some((b) => b.startsWith('NIS2 Art 3(1)')), String(classification.basis));
});

test('imports a Statement of Applicability and reads it back page by page', async () => {
  const csv =
    'ref,applicable,status,justification\r\n' +
    'A.5.1,true,IMPLEMENTED,Policy set approved\r\n' +
    'A.5.24,true,PARTIAL,Plan drafted\r\n' +
    'A.7.4,false,NOT_IMPLEMENTED,No premises of our own\r\n';
  const imported = await unwrap(
    client.api.POST('/v1/entities/{entity}/controls:import', {
      params: { path: { entity: entityId } },
      body: { csv },
    }),
  );
  assert.equal(imported.rows, 3);
  assert.equal(imported.changed, 3);
  const controls = [];
  for await (const control of client.list('/v1/entities/{entity}/controls', 'controls', {
    path: { entity: entityId },
    query: { pageSize: 2 },
  }))
    controls.push(control);
  const byRef = new Map(controls.map((c) => [c.ref, c]));
  assert.equal(byRef.get('A.5.24')?.status, 'PARTIAL');
  assert.equal(byRef.get('A.7.4')?.applicable, false);
  assert.equal(byRef.get('A.5.1')?.status, 'IMPLEMENTED');
});

test('pages through incidents with nextPageToken', async () => {
  const titles = ['Phishing wave', 'DDoS on the portal', 'Lost laptop', 'Ransomware', 'DNS outage'];
  for (const [i, title] of titles.entries()) {
    await unwrap(
      client.api.POST('/v1/incidents', {
        body: {
          entity: entityId,
          title,
          awareAt: `2025-06-1${i}T09:15:00+02:00`,
          detectedAt: `2025-06-1${i}T08:40:00+02:00`,
          significant: true,
        },
      }),
    );
  }
  const pageSizes: number[] = [];
  for await (const page of client.pages('/v1/incidents', { query: { pageSize: 2 } }))
    pageSizes.push(page.incidents?.length ?? 0);
  assert.deepEqual(pageSizes, [2, 2, 1]);
  const seen: string[] = [];
  for await (const incident of client.list('/v1/incidents', 'incidents', {
    query: { entity: entityId, pageSize: 2 },
  })) {
    assert.ok(incident.deadlines && incident.deadlines.length > 0);
    seen.push(incident.title ?? '');
  }
  assert.deepEqual(seen, titles);
});

test('a missing entity is a typed 404 problem', async () => {
  const missing = '01907f3c-5a2b-7c1d-8e9f-0a1b2c3d4e5f';
  await assert.rejects(
    unwrap(client.api.GET('/v1/entities/{id}', { params: { path: { id: missing } } })),
    (e: unknown) => {
      assert.ok(isProblem(e, 404));
      assert.ok(e instanceof BulwarkProblem);
      assert.equal(e.problem.title, 'Not Found');
      assert.equal(e.code, 'NOT_FOUND');
      assert.match(e.reason, /^[A-Z_]+$/);
      assert.ok(e.requestId);
      return true;
    },
  );
  // openapi-fetch's own result types the body as a Problem too.
  const { error, response } = await client.api.GET('/v1/entities/{id}', {
    params: { path: { id: missing } },
  });
  assert.equal(response.status, 404);
  assert.equal(error?.status, 404);
});

test('a bad field is a 400 problem naming it', async () => {
  try {
    await unwrap(client.api.POST('/v1/entities', { body: { name: 'X', timeZone: 'Mars/Olympus' } }));
    assert.fail('accepted an unknown time zone');
  } catch (e) {
    assert.ok(isProblem(e, 400));
    assert.ok(e.fieldError('timeZone'));
  }
});

test('replies advertise the rate limit', async () => {
  const { response } = await client.api.GET('/v1/entities');
  const limit = rateLimit(response);
  assert.ok(limit, 'no RateLimit field');
  assert.ok(limit.remaining >= 0 && limit.resetSeconds >= 1);
  assert.ok(limit.quota && limit.windowSeconds);
});
