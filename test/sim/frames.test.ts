import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_MODULES } from '../../src/protocol/families.js';
import type { ProtocolFamily } from '../../src/protocol/types.js';
import { buildFrame, gt06CommandReply, h02CommandReply, type DeviceState, type ReportKind } from '../../src/sim/frames.js';

const state = (over: Partial<DeviceState> = {}): DeviceState => ({
  imei: '860000000000042',
  shortId: '000000000042',
  lat: 52.370216,
  lon: -4.895168,
  speedKmh: 37,
  course: 123,
  ignition: true,
  relayCut: false,
  battery: 90,
  ...over,
});

function decode(family: ProtocolFamily, bytes: Buffer) {
  const m = PROTOCOL_MODULES[family];
  const framer = m.createFramer({ maxFrameBytes: 4096 });
  const frames = [...framer.push(bytes), ...framer.end()].flatMap((o) => (o.kind === 'frame' ? [o.frame] : []));
  const session = m.createSession();
  return frames.flatMap((f) => {
    const r = session.handleFrame(f, new Date());
    assert.equal(r.error, undefined, r.error?.message);
    return r.messages;
  });
}

describe('simulator frames decode through the gateway codecs', () => {
  const now = new Date('2026-05-01T10:20:30Z');
  for (const family of ['h02', 'gt06', 'tk103', 'gps103'] as const) {
    it(`${family}: login, position, heartbeat and alarm round-trip`, () => {
      const kinds: ReportKind[] = ['login', 'position', 'heartbeat', 'alarm'];
      const s = state();
      const all = Buffer.concat(kinds.map((k, i) => buildFrame(family, s, k, now, i + 1).bytes));
      const msgs = decode(family, all);
      assert.equal(msgs.length, 4);
      const pos = msgs[1]?.message;
      assert.equal(pos?.type, 'position');
      assert.ok(Math.abs((pos?.lat ?? 0) - s.lat) < 1e-4, `lat ${pos?.lat}`);
      assert.ok(Math.abs((pos?.lon ?? 0) - s.lon) < 1e-4, `lon ${pos?.lon}`);
      assert.ok(Math.abs((pos?.speedKmh ?? 0) - s.speedKmh) < 1, `speed ${pos?.speedKmh}`);
      if (family !== 'gps103') assert.ok(msgs[3]?.message.alarms.includes('sos'), 'alarm frame raises SOS');
      assert.ok(msgs[0]?.ack, 'login is acknowledged');
      if (family !== 'gps103') {
        const cut = decode(family, buildFrame(family, state({ relayCut: true }), family === 'gt06' ? 'heartbeat' : 'position', now, 9).bytes);
        assert.equal(cut[0]?.message.relay, 'cut', 'relay state visible to the gateway');
      }
    });
  }

  it('command replies correlate: H02 V4 echo, GT06 server flag', () => {
    const h = decode('h02', h02CommandReply(state({ relayCut: true }), '101112', true, now))[0]?.message;
    assert.deepEqual([h?.commandReply?.command, h?.commandReply?.commandTime, h?.commandReply?.result, h?.relay], ['S20', '101112', 'success', 'cut']);
    const g = decode('gt06', gt06CommandReply(0xdeadbeef, true, 5))[0]?.message;
    assert.equal(g?.commandReply?.serverFlag, 0xdeadbeef);
    assert.equal(g?.commandReply?.result, 'success');
  });
});
