import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { OutboxRow } from '../../src/store/types.js';
import { batchEnvelope, compressedTopic, DEFAULT_TOPIC_ROOT, recordJson, statusPayload, topicRoot, topics } from '../../src/uplink/topics.js';

const row = (seq: number, payload: object | string, raw: Buffer | null = null): OutboxRow => {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { seq, deviceId: 'd1', lane: 'pos', type: 'position', protected: false, receivedAtMs: 0, payload: text, raw, bytes: text.length };
};

describe('uplink topics', () => {
  it('substitutes tenant and gateway into the root, with the contract default', () => {
    assert.equal(topicRoot(undefined, 'acme', 'gw-7'), 'depot/v1/acme/gw/gw-7');
    assert.equal(DEFAULT_TOPIC_ROOT, 'depot/v1/{tenant}/gw/{gatewayId}');
    assert.equal(topicRoot('x/{gatewayId}/{tenant}/{gatewayId}', 't', 'g'), 'x/g/t/g');
  });

  it('names every contract topic under the root', () => {
    const t = topics('r');
    assert.deepEqual(t, {
      root: 'r',
      status: 'r/up/status',
      info: 'r/up/info',
      health: 'r/up/health',
      pos: 'r/up/pos',
      evt: 'r/up/evt',
      cmdRes: 'r/up/cmd/res',
      cmdReq: 'r/down/cmd/req',
      ack: 'r/down/ack',
    });
    assert.equal(compressedTopic(t.pos), 'r/up/pos/z');
  });

  it('builds the status payload', () => {
    const s = JSON.parse(statusPayload('online', 42, '1.2.3', new Date(Date.UTC(2026, 0, 2, 3, 4, 5))));
    assert.deepEqual(s, { v: 1, state: 'online', ts: '2026-01-02T03:04:05.000Z', session: 42, version: '1.2.3' });
  });

  it('splices seq (and raw hex on request) into the stored payload without reparsing it', () => {
    const r = row(17, { v: 1, deviceId: 'd1', note: 'a "quoted" ,}{ value' }, Buffer.from([0x78, 0x78, 0x0d]));
    assert.deepEqual(JSON.parse(recordJson(r, false)), { seq: 17, v: 1, deviceId: 'd1', note: 'a "quoted" ,}{ value' });
    assert.deepEqual(JSON.parse(recordJson(r, true)), { seq: 17, raw: '78780d', v: 1, deviceId: 'd1', note: 'a "quoted" ,}{ value' });
    assert.equal(recordJson(row(3, '{}'), false), '{"seq":3}');
    assert.equal(recordJson(row(4, '{}', null), true), '{"seq":4}', 'no raw frame, no raw field');
  });

  it('wraps records in the batch envelope', () => {
    const env = JSON.parse(batchEnvelope('gw "1"', 9, true, [row(1, { a: 1 }), row(2, { a: 2 })], false));
    assert.deepEqual(env, { v: 1, gw: 'gw "1"', batch: 9, hist: true, recs: [{ seq: 1, a: 1 }, { seq: 2, a: 2 }] });
    assert.deepEqual(JSON.parse(batchEnvelope('g', 1, false, [], false)).recs, []);
  });
});
