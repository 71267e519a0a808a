// Docs that test themselves: every request body example of /v1/openapi.json
// is sent, as it stands, to the running stack, and must succeed. Examples
// name resources by placeholder ids; the ones created along the way stand
// in for them (the entity, the board member), and path variables are filled
// the same way. A new example that this plan does not know fails the test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, env, newTenant, operations } from './lib.mjs';

const PLACEHOLDER = {
  entity: '01907f3c-5a2b-7c1d-8e9f-0a1b2c3d4e5f',
  member: '01907f3d-1c2e-7a4b-9f10-3b5c7d9e1f20',
};

// In this order; for each, what its path's {id} is, and what its reply adds.
const plan = [
  ['CreateTenant', { keep: (r, ids) => { ids.tenant = r.tenant.id; } }],
  ['CreateApiKey', { keep: (r, ids) => { ids.apiKey = r.id; } }],
  ['RotateApiKey', { id: 'apiKey' }],
  ['SuspendTenant', { id: 'tenant' }],
  ['CreateEntity', { keep: (r, ids) => { ids.entity = r.id; } }],
  ['UpdateEntity', { id: 'entity' }],
  ['Assess', {}],
  ['CreateBoardMember', { keep: (r, ids) => { ids.member = r.id; } }],
  ['CreateCampaign', { keep: (r, ids) => { ids.campaign = r.id; } }],
  ['CreateAttestation', {}],
  ['UpdateBoardMember', { id: 'member' }],
  ['CreateMappingOverride', {}],
  ['PutControl', {}],
  ['ImportControls', {}],
  ['CreateIncident', { keep: (r, ids) => { ids.incident = r.id; } }],
  ['AppendEvent', {}],
  ['AssessSignificance', {}],
  ['UpdateIncidentSettings', {}],
  ['CreateWebhookEndpoint', { keep: (r, ids) => { ids.webhook = r.id; } }],
  ['UpdateWebhookEndpoint', { id: 'webhook' }],
  ['CreateConnection', { keep: (r, ids) => { ids.connection = r.id; } }],
  ['UpdateConnection', { id: 'connection' }],
];

test('every request body example is accepted by the stack', async () => {
  const doc = (await call('GET', '/v1/openapi.json')).json;
  // Raw routes take a ticket system's signed payload, which has no example.
  const byId = new Map(operations(doc)
    .filter(({ op }) => op.requestBody && op['x-bulwark-access'] !== 'service')
    .map((o) => [o.op.operationId, o]));
  const unknown = [...byId.keys()].filter((id) => !plan.some(([name]) => name === id));
  assert.deepEqual(unknown, [], 'add these operations to the plan of examples.test.mjs');

  const { key } = await newTenant('Examples');
  const ids = { ref: 'A.5.24' };
  for (const [operationId, step] of plan) {
    const o = byId.get(operationId);
    assert.ok(o, `${operationId} has no request body any more`);
    let body = JSON.stringify(o.op.requestBody.content['application/json'].example);
    for (const [name, placeholder] of Object.entries(PLACEHOLDER))
      if (ids[name]) body = body.replaceAll(placeholder, ids[name]);
    const path = o.path.replace(/\{(\w+)\}/g, (_, v) => {
      const value = v === 'id' ? ids[step.id] : ids[v];
      assert.ok(value, `${operationId}: nothing for {${v}} yet`);
      return value;
    });
    const operator = o.op['x-bulwark-access'] === 'operator';
    const r = await call(o.method, path, {
      token: operator ? env('BULWARK_TEST_OPERATOR_TOKEN') : key,
      body: JSON.parse(body),
    });
    assert.ok(r.status >= 200 && r.status < 300,
      `${operationId} (${o.method} ${path}) answered ${r.status} to its example: ${r.text}`);
    step.keep?.(r.json, ids);
  }
});
