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
    const buf = this.buf;
    const max = this.limits.maxFrameBytes;
    // `pos` walks the pending bytes; `buf` is cut once at the end rather than once per record.
    let pos = 0;
    while (pos < buf.length) {
      if (TERMINATOR[buf[pos] as number] === 1) {
        pos++;
        continue;
      }
      let end = -1;
      const limit = Math.min(buf.length, pos + max + 1);
      for (let i = pos; i < limit; i++) {
        if (TERMINATOR[buf[i] as number] === 1) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        if (buf.length - pos > max) {
          out.push({ kind: 'junk', bytes: buf.subarray(pos, pos + max), reason: `record longer than ${max} bytes` });
          pos += max;
          continue;
        }
        break;
      }
      emitRecord(buf.subarray(pos, end), out);
      pos = end + 1;
    }
    if (pos > 0) this.buf = buf.subarray(pos);
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

const TERMINATOR = new Uint8Array(256);
for (const b of [SEMI, LF, CR, STAR]) TERMINATOR[b] = 1;

/** `b` starts with the ASCII `prefix`. */
function startsWith(b: Buffer, prefix: string): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

function looksLikeRecord(b: Buffer): boolean {
  if (startsWith(b, 'imei:')) return true;
  if (startsWith(b, '##,imei:')) return true;
  if (b.length < 15) return false;
  for (let i = 0; i < 15; i++) {
    const c = b[i] as number;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
