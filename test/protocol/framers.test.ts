/**
 * The ways TCP splits data (ARCHITECTURE principle 3), for every family's framer: one frame, two
 * in one chunk, split across chunks, the last byte alone, a bad frame then a good one, leading
 * garbage, oversize, truncated input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_MODULES } from '../../src/protocol/families.js';
import type { FramerOutput, ProtocolFamily } from '../../src/protocol/types.js';

const LIMIT = 512;
const hex = (h: string) => Buffer.from(h, 'hex');

const SAMPLES: Record<ProtocolFamily, { a: Buffer; b: Buffer; bad: Buffer; oversize: Buffer }> = {
  h02: {
    a: Buffer.from('*HQ,135790246811220,V0#'),
    b: Buffer.from('*HQ,4106011660,V1,124552,A,5035.3129,N,00431.8211,E,000.20,000,131116,FFFFFBFF#'),
    bad: Buffer.from('01047,V1,tail-of-a-frame#'),
    oversize: Buffer.from('*HQ,1,V1,' + 'A'.repeat(LIMIT * 2)),
  },
  gt06: {
    a: hex('78780d01086471700328358100093f040d0a'),
    b: hex('78780a13c40604000201298f5b0d0a'),
    bad: hex('0102030405787801'),
    oversize: Buffer.concat([hex('7878ff12'), Buffer.alloc(LIMIT * 2, 0x11)]),
  },
  tk103: {
    a: Buffer.from('(027044702512BP00027044702512HSO01A4)'),
    b: Buffer.from('(088048003342BR00150917A1352.9801N10030.9050E000.0103224000.0000010000L000003F9)'),
    bad: Buffer.from('garbage%@#*^$-+<>?$'),
    oversize: Buffer.from('(0270447025BR00' + '9'.repeat(LIMIT * 2)),
  },
  gps103: {
    a: Buffer.from('##,imei:359586015829802,A;'),
    b: Buffer.from('imei:359710049092324,tracker,151027025958,,F,235957.000,A,2429.5156,N,04424.5828,E,0.01,27.91,,0,0,,,;'),
    bad: Buffer.from('hello there;'),
    oversize: Buffer.from('imei:359710049092324,' + 'x'.repeat(LIMIT * 2)),
  },
};

function run(family: ProtocolFamily, chunks: Buffer[], end = true): FramerOutput[] {
  const framer = PROTOCOL_MODULES[family].createFramer({ maxFrameBytes: LIMIT });
  const out: FramerOutput[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  if (end) out.push(...framer.end());
  return out;
}
const frames = (out: FramerOutput[]) => out.flatMap((o) => (o.kind === 'frame' ? [o.frame.toString('latin1')] : []));
const strip = (family: ProtocolFamily, b: Buffer) => (family === 'gps103' ? b.subarray(0, b.length - 1) : b).toString('latin1');

for (const family of Object.keys(SAMPLES) as ProtocolFamily[]) {
  const s = SAMPLES[family];
  const A = strip(family, s.a);
  const B = strip(family, s.b);
  describe(`${family} framer`, () => {
    it('one frame', () => assert.deepEqual(frames(run(family, [s.a])), [A]));
    it('two frames in one chunk', () => assert.deepEqual(frames(run(family, [Buffer.concat([s.a, s.b])])), [A, B]));
    it('a frame split across chunks, at every byte', () => {
      const whole = Buffer.concat([s.a, s.b]);
      for (let cut = 1; cut < whole.length; cut++) {
        assert.deepEqual(frames(run(family, [whole.subarray(0, cut), whole.subarray(cut)])), [A, B], `cut at ${cut}`);
      }
    });
    it('the last byte alone', () => {
      const out = run(family, [s.a.subarray(0, s.a.length - 1)], false);
      assert.deepEqual(frames(out), family === 'gps103' ? [] : []);
      const framer = PROTOCOL_MODULES[family].createFramer({ maxFrameBytes: LIMIT });
      assert.deepEqual(frames(framer.push(s.a.subarray(0, s.a.length - 1))), []);
      assert.deepEqual(frames(framer.push(s.a.subarray(s.a.length - 1))), [A]);
    });
    it('a bad frame then a good one', () => {
      const out = run(family, [Buffer.concat([s.bad, s.b])]);
      assert.deepEqual(frames(out), [B]);
      assert.ok(out.some((o) => o.kind === 'junk'), 'the bad bytes are reported as junk');
    });
    it('leading garbage, byte by byte', () => {
      const whole = Buffer.concat([Buffer.from('\x00\xffjunk'), s.a]);
      assert.deepEqual(frames(run(family, [...whole].map((b) => Buffer.from([b])))), [A]);
    });
    it('oversize input is discarded within the bound and the next frame still decodes', () => {
      const framer = PROTOCOL_MODULES[family].createFramer({ maxFrameBytes: LIMIT });
      const out = [...framer.push(s.oversize)];
      assert.ok(framer.pendingBytes <= LIMIT + 8, `pending ${framer.pendingBytes} bounded`);
      out.push(...framer.push(family === 'gps103' ? Buffer.concat([Buffer.from(';'), s.b]) : s.b), ...framer.end());
      assert.deepEqual(frames(out).slice(-1), [B]);
      assert.ok(out.some((o) => o.kind === 'junk'));
    });
    it('truncated input yields no frame but junk at the end', () => {
      const half = s.b.subarray(0, Math.floor(s.b.length / 2));
      const out = run(family, [half]);
      if (family === 'gps103') {
        // Older GPS103 firmware omits the terminator: the end of input ends the record.
        assert.deepEqual(frames(out), [half.toString('latin1')]);
        return;
      }
      assert.deepEqual(frames(out), []);
      assert.ok(out.some((o) => o.kind === 'junk'));
    });
  });
}
