// Drives `owbench serve` with the official npm `openwhisk` client, as a user would.
// Env: OW_APIHOST (http://host:port), OW_AUTH (uuid:key), WASM_PATH (a noop component).
// Exits non-zero with a message on the first mismatch.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const openwhisk = require('openwhisk');

const ow = openwhisk({ apihost: process.env.OW_APIHOST, api_key: process.env.OW_AUTH });
const code = fs.readFileSync(process.env.WASM_PATH).toString('base64');
const name = 'js-client-echo';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const namespaces = await ow.namespaces.list();
  assert.deepEqual(namespaces, ['guest']);

  const created = await ow.actions.create({ name, action: code, kind: 'wasm', limits: { memory: 32, timeout: 5000 } });
  assert.equal(created.name, name);
  assert.equal(created.version, '0.0.1');
  await assert.rejects(ow.actions.create({ name, action: code, kind: 'wasm' }), (e) => e.statusCode === 409);
  const updated = await ow.actions.update({ name, action: code, kind: 'wasm', params: { bound: true } });
  assert.equal(updated.version, '0.0.2');
  const got = await ow.actions.get({ name });
  assert.equal(got.exec.kind, 'wasm');
  const listed = await ow.actions.list({ limit: 5 });
  assert.ok(listed.some((a) => a.name === name));

  // Blocking: the full record; result: true extracts response.result client-side.
  const record = await ow.actions.invoke({ name, blocking: true, params: { x: 1 } });
  assert.equal(record.response.status, 'success');
  assert.deepEqual(record.response.result, { echo: { bound: true, x: 1 } });
  assert.match(record.activationId, /^[0-9a-f]{32}$/);
  assert.ok(record.annotations.some((a) => a.key === 'waitTime'));
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { y: 2 } });
  assert.deepEqual(result, { echo: { bound: true, y: 2 } });

  // Non-blocking: an id, then the activation, its logs and its result.
  const { activationId } = await ow.actions.invoke({ name, params: { z: 3 } });
  assert.match(activationId, /^[0-9a-f]{32}$/);
  let activation;
  for (let i = 0; i < 100 && !activation; i++) {
    try {
      activation = await ow.activations.get({ activationId });
    } catch (e) {
      if (e.statusCode !== 404) throw e;
      await sleep(20);
    }
  }
  assert.ok(activation, 'activation never appeared');
  assert.equal(activation.activationId, activationId);
  const logs = await ow.activations.logs({ activationId });
  assert.ok(Array.isArray(logs.logs));
  const res = await ow.activations.result({ activationId });
  assert.deepEqual(res.result, { echo: { bound: true, z: 3 } });
  assert.equal(res.success, true);

  const activations = await ow.activations.list({ name, limit: 200, docs: true });
  assert.equal(activations.length, 3);
  assert.ok(activations.every((a) => a.response.success));
  const summaries = await ow.activations.list({ name, limit: 2 });
  assert.equal(summaries.length, 2);
  assert.equal(summaries[0].statusCode, 0);

  // Errors come back as OpenWhiskError with the status code.
  await assert.rejects(ow.actions.invoke({ name: 'no-such-action', blocking: true }), (e) => e.statusCode === 404);

  await ow.actions.delete({ name });
  await assert.rejects(ow.actions.get({ name }), (e) => e.statusCode === 404);
  console.log('openwhisk npm client: all checks passed');
}

main().catch((e) => {
  console.error(`openwhisk npm client check failed: ${e.stack || e}`);
  process.exit(1);
});
