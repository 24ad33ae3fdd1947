import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, parseCommandRequest, signRequest } from '../../src/commands/request.js';

const key = Buffer.from('test-key-0123456789');
const base = () => ({ v: 1, id: 'c-1', deviceId: '864717003283581', action: 'engine_stop', expiresAt: '2030-01-01T00:00:00Z', issuedBy: 'ops:alice' });

describe('command requests', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  it('accepts a valid signed request and rejects a tampered one', () => {
    const req: Record<string, unknown> = base();
    req['sig'] = signRequest(req, key);
    assert.equal(parseCommandRequest(Buffer.from(JSON.stringify(req)), { maxPayloadBytes: 4096, key }).ok, true);
    const tampered = { ...req, action: 'engine_resume' };
    const r = parseCommandRequest(Buffer.from(JSON.stringify(tampered)), { maxPayloadBytes: 4096, key });
    assert.deepEqual(r.ok ? null : r.reason, 'bad_signature');
    const unsigned = parseCommandRequest(Buffer.from(JSON.stringify(base())), { maxPayloadBytes: 4096, key });
    assert.deepEqual(unsigned.ok ? null : unsigned.reason, 'unauthorized');
  });

  it('rejects bad input with a reason, never throws', () => {
    const cases: Array<[string, string]> = [
      ['not json', 'invalid'],
      ['[1,2]', 'invalid'],
      [JSON.stringify({ ...base(), action: 'self_destruct' }), 'invalid'],
      [JSON.stringify({ ...base(), extra: 1 }), 'invalid'],
      [JSON.stringify({ ...base(), reason: 'a\u0000b' }), 'invalid'],
      [JSON.stringify({ ...base(), issuedBy: 'x'.repeat(10_000) }), 'invalid'],
    ];
    for (const [payload, reason] of cases) {
      const r = parseCommandRequest(Buffer.from(payload), { maxPayloadBytes: 4096 });
      assert.equal(r.ok, false, payload.slice(0, 40));
      if (!r.ok) assert.equal(r.reason, reason);
    }
    const big = parseCommandRequest(Buffer.alloc(5000, 0x20), { maxPayloadBytes: 4096 });
    assert.match(big.ok ? '' : big.detail, /exceeds 4096/);
  });

  it('explains a rejection in the same words, the first five problems', () => {
    const bad = {
      ...base(),
      v: 2,
      action: 'self_destruct',
      expiresAt: '2030-01-01T00:00Z',
      guards: { maxFixAgeSec: 0.5, maxSpeedKmh: 301 },
      extra: 1,
      more: 2,
    };
    const r = parseCommandRequest(Buffer.from(JSON.stringify(bad)), { maxPayloadBytes: 4096 });
    assert.deepEqual(r, {
      ok: false,
      reason: 'invalid',
      detail: [
        'v: Invalid input: expected 1',
        'action: Invalid option: expected one of "engine_stop"|"engine_resume"',
        'expiresAt: Invalid ISO datetime',
        'guards.maxSpeedKmh: Too big: expected number to be <=300',
        'guards.maxFixAgeSec: Invalid input: expected int, received number',
      ].join('; '),
      id: 'c-1',
      deviceId: '864717003283581',
      action: 'self_destruct',
    });
    const keys = parseCommandRequest(Buffer.from(JSON.stringify({ ...base(), deviceId: 7, extra: 1, more: 2 })), { maxPayloadBytes: 4096 });
    assert.equal(keys.ok ? '' : keys.detail, 'deviceId: Invalid input: expected string, received number; (root): Unrecognized keys: "extra", "more"');
  });

  it('counts characters, not UTF-16 units, against the length limits', () => {
    const emoji = '\u{1F600}';
    assert.equal(parseCommandRequest(Buffer.from(JSON.stringify({ ...base(), issuedBy: emoji.repeat(128) })), { maxPayloadBytes: 4096 }).ok, true);
    const long = parseCommandRequest(Buffer.from(JSON.stringify({ ...base(), issuedBy: emoji.repeat(129) })), { maxPayloadBytes: 4096 });
    assert.equal(long.ok ? '' : long.detail, 'issuedBy: Too big: expected string to have <=128 characters');
  });
});
