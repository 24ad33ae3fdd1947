import { BufferedFramer } from '../framer-base.js';
import type { FramerOutput } from '../types.js';

const SEMI = 0x3b; // ';'
const LF = 0x0a;
const CR = 0x0d;
const STAR = 0x2a; // '*' ends records of one Coban variant (`imei:...,L,*`)

/**
 * GPS103 framer: records end at `;` (also `\n`, `\r\n`, or `*` on one variant). Older firmware
 * omits the terminator, so `end()` (connection closed, or one UDP datagram done) flushes what is
 * left as a frame when it looks like a record. Terminators are not part of the frame.
 */
export class Gps103Framer extends BufferedFramer {
  protected readonly leftoverReason = 'not a GPS103 record';

  /** Older firmware omits the terminator: the end of input ends the record. */
  protected override leftover(bytes: Buffer): FramerOutput[] {
    const out: FramerOutput[] = [];
    emitRecord(bytes, out);
    return out;
  }

  protected drain(): FramerOutput[] {
    const out: FramerOutput[] = [];
    while (this.buf.length > 0) {
      const buf = this.buf;
      let skip = 0;
      while (skip < buf.length && isTerminator(buf[skip])) skip++;
      if (skip > 0) {
        this.buf = buf.subarray(skip);
        continue;
      }
      let end = -1;
      const limit = Math.min(buf.length, this.limits.maxFrameBytes + 1);
      for (let i = 0; i < limit; i++) {
        if (isTerminator(buf[i])) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        if (buf.length > this.limits.maxFrameBytes) {
          out.push({ kind: 'junk', bytes: buf.subarray(0, this.limits.maxFrameBytes), reason: `record longer than ${this.limits.maxFrameBytes} bytes` });
          this.buf = buf.subarray(this.limits.maxFrameBytes);
          continue;
        }
        break;
      }
      emitRecord(buf.subarray(0, end), out);
      this.buf = buf.subarray(end + 1);
    }
    return out;
  }
}

/** Emits a record, cutting off bytes before its start (a read that began with noise). */
function emitRecord(record: Buffer, out: FramerOutput[]): void {
  if (looksLikeRecord(record)) {
    out.push({ kind: 'frame', frame: record });
    return;
  }
  const text = record.toString('latin1');
  const at = [text.indexOf('##,imei:'), text.indexOf('imei:')].filter((i) => i > 0).sort((a, b) => a - b)[0];
  if (at === undefined) {
    out.push({ kind: 'junk', bytes: record, reason: 'not a GPS103 record' });
    return;
  }
  out.push({ kind: 'junk', bytes: record.subarray(0, at), reason: 'bytes before a GPS103 record' });
  out.push({ kind: 'frame', frame: record.subarray(at) });
}

function isTerminator(b: number | undefined): boolean {
  return b === SEMI || b === LF || b === CR || b === STAR;
}

const IMEI_PREFIX = Buffer.from('imei:');
const LOGIN_PREFIX = Buffer.from('##,imei:');

function looksLikeRecord(b: Buffer): boolean {
  if (b.length >= 5 && b.compare(IMEI_PREFIX, 0, 5, 0, 5) === 0) return true;
  if (b.length >= 8 && b.compare(LOGIN_PREFIX, 0, 8, 0, 8) === 0) return true;
  if (b.length < 15) return false;
  for (let i = 0; i < 15; i++) {
    const c = b[i] as number;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
