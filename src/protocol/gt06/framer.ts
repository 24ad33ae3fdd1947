import { BufferedFramer } from '../framer-base.js';
import type { FramerOutput } from '../types.js';
import { START_LONG, START_SHORT } from './constants.js';

/**
 * GT06 framer. The length field is trusted only when the frame really ends in `0D 0A` where it
 * says; otherwise (a real device sends a 0x13 whose length excludes the CRC) the frame ends at the
 * next `0D 0A`. A frame is never cut short on a `0D 0A` before its declared end: payloads may
 * contain those bytes.
 */
export class Gt06Framer extends BufferedFramer {
  protected readonly leftoverReason = 'incomplete GT06 frame at end of input';

  protected drain(final: boolean): FramerOutput[] {
    const out: FramerOutput[] = [];
    const buf = this.buf;
    // `pos` walks the pending bytes; `buf` is cut once at the end rather than once per frame.
    let pos = 0;
    while (pos < buf.length) {
      const start = findStart(buf, pos);
      if (start !== pos) {
        // Keep a lone trailing 0x78/0x79: it may be half a start marker.
        const junkEnd = start >= 0 ? start : final || !isStartByte(buf[buf.length - 1]) ? buf.length : buf.length - 1;
        if (junkEnd === pos) break;
        out.push({ kind: 'junk', bytes: buf.subarray(pos, junkEnd), reason: 'no GT06 start marker (resynchronising)' });
        pos = junkEnd;
        continue;
      }
      const size = this.frameSize(buf, pos, final);
      if (size === 'wait') break;
      if (size === 'bad') {
        out.push({ kind: 'junk', bytes: buf.subarray(pos, pos + 2), reason: 'GT06 frame without a terminator within the size limit' });
        pos += 2;
        continue;
      }
      out.push({ kind: 'frame', frame: buf.subarray(pos, pos + size) });
      pos += size;
    }
    if (pos > 0) this.buf = buf.subarray(pos);
    return out;
  }

  /** Size of the frame starting at `pos`. */
  private frameSize(buf: Buffer, pos: number, final: boolean): number | 'wait' | 'bad' {
    const available = buf.length - pos;
    const long = buf[pos] === START_LONG;
    const header = long ? 4 : 3;
    if (available < header) return final ? 'bad' : 'wait';
    const declared = long ? buf.readUInt16BE(pos + 2) : (buf[pos + 2] as number);
    const total = header + declared + 2;
    const max = this.limits.maxFrameBytes;
    if (total <= max && available < total && !final) return 'wait';
    if (total <= max && available >= total && buf[pos + total - 2] === 0x0d && buf[pos + total - 1] === 0x0a) return total;
    // The declared end is wrong (or impossible): the next `0D 0A` ends the frame.
    const stop = findStop(buf, pos + header + 1, pos + Math.min(available, max));
    // A start marker before that stop means this "frame" was noise: resynchronise on the marker
    // rather than swallow the next real frame.
    const next = findStart(buf, pos + 2);
    if (stop >= 0 && (next < 0 || next > stop)) return stop - pos + 2;
    if (next >= 0 && (stop < 0 || next < stop) && (final || available >= total || total > max)) return 'bad';
    // At end of input, a frame that only lacks (part of) its terminator is still a frame.
    if (final && total <= max && available >= total - 2 && available <= total) return available;
    if (final || available >= max) return 'bad';
    return 'wait';
  }
}

function isStartByte(b: number | undefined): boolean {
  return b === START_SHORT || b === START_LONG;
}

function findStart(buf: Buffer, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) {
    const b = buf[i];
    if ((b === START_SHORT || b === START_LONG) && buf[i + 1] === b) return i;
  }
  return -1;
}

function findStop(buf: Buffer, from: number, to: number): number {
  for (let i = from; i + 1 < to; i++) if (buf[i] === 0x0d && buf[i + 1] === 0x0a) return i;
  return -1;
}
