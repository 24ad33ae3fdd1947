/**
 * Fuzz engine: random and mutated buffers through detect, frame and decode (ProtocolStream), per
 * family. Only messages or DecodeErrors may come out; any other exception is a bug. Seeded, so
 * a failure reproduces.
 */
import { isDecodeError } from '../../src/protocol/errors.js';
import { PROTOCOL_MODULES } from '../../src/protocol/families.js';
import { ProtocolStream } from '../../src/protocol/stream.js';
import type { ProtocolFamily } from '../../src/protocol/types.js';
import { loadVectors } from './vectors.js';

export interface FuzzReport {
  family: ProtocolFamily;
  cases: number;
  messages: number;
  decodeErrors: number;
  maxPendingBytes: number;
  failures: string[];
}

/** xorshift32: tiny, fast, reproducible */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export const MAX_FRAME = 2048;

export function fuzzFamily(family: ProtocolFamily, cases: number, seed = 1): FuzzReport {
  const rand = rng(seed);
  const samples = loadVectors(family)
    .filter((v) => v.direction !== 'server_to_device')
    .map((v) => Buffer.from(v.hex, 'hex'));
  const report: FuzzReport = { family, cases, messages: 0, decodeErrors: 0, maxPendingBytes: 0, failures: [] };
  const receivedAt = new Date('2026-03-01T00:00:00Z');
  for (let i = 0; i < cases; i++) {
    const input = makeCase(rand, samples);
    const stream = new ProtocolStream({ modules: PROTOCOL_MODULES, maxFrameBytes: MAX_FRAME, maxBytesBeforeDetect: 512, family: rand() < 0.5 ? family : undefined });
    try {
      // Split at random points, as TCP would.
      let at = 0;
      while (at < input.length) {
        const n = 1 + Math.floor(rand() * Math.min(64, input.length - at));
        for (const e of stream.push(input.subarray(at, at + n), receivedAt)) count(e, report);
        at += n;
        report.maxPendingBytes = Math.max(report.maxPendingBytes, stream.pendingBytes);
      }
      for (const e of stream.end(receivedAt)) count(e, report);
      const udp = new ProtocolStream({ modules: PROTOCOL_MODULES, maxFrameBytes: MAX_FRAME, maxBytesBeforeDetect: 512 });
      for (const e of udp.datagram(input, receivedAt)) count(e, report);
    } catch (err) {
      if (report.failures.length < 10) report.failures.push(`case ${i} (${input.toString('hex').slice(0, 200)}): ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  return report;
}

function count(e: ReturnType<ProtocolStream['push']>[number], report: FuzzReport): void {
  if (e.kind === 'messages') report.messages += e.messages.length;
  if (e.kind === 'decode_error') {
    if (!isDecodeError(e.error)) throw new Error(`non-DecodeError returned: ${String(e.error)}`);
    report.decodeErrors++;
  }
}

function makeCase(rand: () => number, samples: Buffer[]): Buffer {
  const pick = () => samples[Math.floor(rand() * samples.length)] as Buffer;
  const r = rand();
  if (r < 0.15 || samples.length === 0) {
    const b = Buffer.alloc(Math.floor(rand() * 300));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
    return b;
  }
  const base = Buffer.from(pick());
  if (r < 0.55) {
    // flip, set or drop a few bytes
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n && base.length > 0; k++) {
      const at = Math.floor(rand() * base.length);
      const op = rand();
      if (op < 0.4) base[at] = (base[at] as number) ^ (1 << Math.floor(rand() * 8));
      else if (op < 0.8) base[at] = Math.floor(rand() * 256);
      else return Buffer.concat([base.subarray(0, at), base.subarray(at + 1)]);
    }
    return base;
  }
  if (r < 0.7) return base.subarray(0, Math.floor(rand() * base.length));
  if (r < 0.85) return Buffer.concat([pick(), pick(), pick()]);
  // a sample's text fields stretched (huge strings, control characters)
  const junk = Buffer.alloc(Math.floor(rand() * 4000), rand() < 0.5 ? 0x41 : Math.floor(rand() * 32));
  const at = Math.floor(rand() * base.length);
  return Buffer.concat([base.subarray(0, at), junk, base.subarray(at)]);
}
