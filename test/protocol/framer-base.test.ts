/**
 * A framer with nothing pending must not keep the last chunk it consumed: thousands of idle
 * trackers would each pin a read buffer until their next report.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_MODULES } from '../../src/protocol/families.js';
import type { ProtocolFamily } from '../../src/protocol/types.js';

const FRAMES: Record<ProtocolFamily, Buffer> = {
  h02: Buffer.from('*HQ,135790246811220,V0#'),
  gt06: Buffer.from('78780d01086471700328358100093f040d0a', 'hex'),
  tk103: Buffer.from('(027044702512BP00027044702512HSO01A4)'),
  gps103: Buffer.from('##,imei:359586015829802,A;'),
};

/** A copy with a backing store of its own, as a socket read delivers it. */
const ownChunk = (bytes: Buffer): Buffer => {
  const chunk = Buffer.from(new ArrayBuffer(bytes.length));
  bytes.copy(chunk);
  return chunk;
};
const pendingStore = (framer: unknown): ArrayBufferLike => (framer as { buf: Buffer }).buf.buffer;

describe('BufferedFramer', () => {
  for (const family of Object.keys(FRAMES) as ProtocolFamily[]) {
    it(`${family}: drops the consumed chunk, keeps a partial frame`, () => {
      const framer = PROTOCOL_MODULES[family].createFramer({ maxFrameBytes: 512 });
      const whole = ownChunk(FRAMES[family]);
      const frames = (outs: ReturnType<typeof framer.push>) => outs.flatMap((o) => (o.kind === 'frame' ? [o.frame.toString('hex')] : []));
      const first = frames(framer.push(whole));
      assert.equal(first.length, 1);
      assert.equal(framer.pendingBytes, 0);
      assert.notEqual(pendingStore(framer), whole.buffer, 'the consumed chunk is not kept');

      const half = Math.floor(FRAMES[family].length / 2);
      const head = ownChunk(FRAMES[family].subarray(0, half));
      assert.equal(framer.push(head).length, 0);
      assert.equal(framer.pendingBytes, half);
      const out = framer.push(ownChunk(FRAMES[family].subarray(half)));
      assert.deepEqual(frames(out), first);
      assert.equal(framer.pendingBytes, 0);
      assert.equal(framer.end().length, 0);
    });
  }
});
