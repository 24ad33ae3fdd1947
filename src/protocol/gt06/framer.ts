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
    while (this.buf.length > 0) {
      const buf = this.buf;
      const start = findStart(buf, 0);
      if (start !== 0) {
        // Keep a lone trailing 0x78/0x79: it may be half a start marker.
        const junkEnd = start >= 0 ? start : final || !isStartByte(buf[buf.length - 1]) ? buf.length : buf.length - 1;
        if (junkEnd === 0) break;
        out.push({ kind: 'junk', bytes: buf.subarray(0, junkEnd), reason: 'no GT06 start marker (resynchronising)' });
        this.buf = buf.subarray(junkEnd);
        continue;
      }
      const size = this.frameSize(buf, final);
      if (size === 'wait') break;
      if (size === 'bad') {
        out.push({ kind: 'junk', bytes: buf.subarray(0, 2), reason: 'GT06 frame without a terminator within the size limit' });
        this.buf = buf.subarray(2);
        continue;
      }
      out.push({ kind: 'frame', frame: buf.subarray(0, size) });
      this.buf = buf.subarray(size);
    }
    return out;
  }

  private frameSize(buf: Buffer, final: boolean): number | 'wait' | 'bad' {
    const long = buf[0] === START_LONG;
    const header = long ? 4 : 3;
    if (buf.length < header) return final ? 'bad' : 'wait';
    const declared = long ? buf.readUInt16BE(2) : (buf[2] as number);
    const total = header + declared + 2;
    const max = this.limits.maxFrameBytes;
    if (total <= max && buf.length < total && !final) return 'wait';
    if (total <= max && buf.length >= total && buf[total - 2] === 0x0d && buf[total - 1] === 0x0a) return total;
    // The declared end is wrong (or impossible): the next `0D 0A` ends the frame.
    const stop = findStop(buf, header + 1, Math.min(buf.length, max));
    // A start marker before that stop means this "frame" was noise: resynchronise on the marker
    // rather than swallow the next real frame.
    const next = findStart(buf, 2);
    if (stop >= 0 && (next < 0 || next > stop)) return stop + 2;
    if (next >= 0 && (stop < 0 || next < stop) && (final || buf.length >= total || total > max)) return 'bad';
    // At end of input, a frame that only lacks (part of) its terminator is still a frame.
    if (final && total <= max && buf.length >= total - 2 && buf.length <= total) return buf.length;
    if (final || buf.length >= max) return 'bad';
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
