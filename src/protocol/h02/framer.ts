import { BufferedFramer } from '../framer-base.js';
import type { FramerOutput } from '../types.js';
import { BINARY_SIZES, BINARY_START, BINARY_X_START, CR, LF, SPACE, TEXT_END, TEXT_START, COMMA } from './constants.js';

const isLetter = (b: number | undefined) => b !== undefined && ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));
const isBcd = (b: number | undefined) => b !== undefined && (b >> 4) <= 9 && (b & 0x0f) <= 9;

type Start = 'text' | 'binary' | 'maybe' | 'no';

/**
 * H02 framer: text frames `*XX,...#` and fixed-size binary `$` frames on one stream.
 *
 * Binary frames have no length field and come in several sizes (32/42/45/48). A size is accepted
 * when the bytes right after it start another frame (or a terminator), or when the stream ends
 * exactly there; once known, the size is kept for the connection (Traccar does the same), so
 * later frames are emitted as soon as they are complete. Decisions depend on content only, never
 * on how TCP split the bytes.
 */
export class H02Framer extends BufferedFramer {
  private binarySize: number | undefined;

  protected readonly leftoverReason = 'incomplete frame at end of input';

  protected drain(final: boolean): FramerOutput[] {
    const out: FramerOutput[] = [];
    const buf = this.buf;
    // `pos` walks the pending bytes; `buf` is cut once at the end rather than once per frame.
    let pos = 0;
    while (pos < buf.length) {
      // Terminator bytes after `#` (`#\r\n`, `# \r\n`) belong to no frame.
      const b = buf[pos];
      if (b === CR || b === LF || b === SPACE) {
        pos++;
        continue;
      }
      const start = this.startAt(buf, pos, true);
      if (start === 'maybe') {
        if (!final) break;
        out.push({ kind: 'junk', bytes: buf.subarray(pos), reason: 'truncated frame start' });
        pos = buf.length;
        break;
      }
      if (start === 'no') {
        const next = this.nextStart(buf, pos + 1);
        const junkEnd = next < 0 ? (final ? buf.length : pos + Math.max(0, buf.length - pos - 4)) : next;
        if (junkEnd === pos) break;
        out.push({ kind: 'junk', bytes: buf.subarray(pos, junkEnd), reason: 'no H02 frame start (resynchronising)' });
        pos = junkEnd;
        continue;
      }
      const taken = start === 'text' ? this.takeText(buf, pos, out, final) : this.takeBinary(buf, pos, out, final);
      if (taken < 0) break;
      pos = taken;
    }
    if (pos > 0) this.buf = buf.subarray(pos);
    return out;
  }

  /** Reads one text frame at `pos`; the position after it, or -1 when more bytes are needed. */
  private takeText(buf: Buffer, pos: number, out: FramerOutput[], final: boolean): number {
    const max = this.limits.maxFrameBytes;
    const end = buf.indexOf(TEXT_END, pos + 1);
    if (end < 0) {
      if (buf.length - pos > max) {
        out.push({ kind: 'junk', bytes: buf.subarray(pos, pos + 1), reason: `text frame longer than ${max} bytes without "#"` });
        return pos + 1;
      }
      if (final) {
        out.push({ kind: 'junk', bytes: buf.subarray(pos), reason: 'text frame without "#" at end of input' });
        return buf.length;
      }
      return -1;
    }
    if (end + 1 - pos > max) {
      out.push({ kind: 'junk', bytes: buf.subarray(pos, end + 1), reason: `text frame longer than ${max} bytes` });
    } else {
      out.push({ kind: 'frame', frame: buf.subarray(pos, end + 1) });
    }
    return end + 1;
  }

  /** Reads one binary frame at `pos`; the position after it, or -1 when more bytes are needed to decide its size. */
  private takeBinary(buf: Buffer, pos: number, out: FramerOutput[], final: boolean): number {
    const available = buf.length - pos;
    let size = this.binarySize;
    if (size === undefined) {
      for (const candidate of BINARY_SIZES) {
        if (available < candidate) break;
        if (available === candidate ? final : this.isBoundary(buf, pos + candidate)) {
          size = candidate;
          break;
        }
      }
      if (size === undefined) {
        const largest = BINARY_SIZES[BINARY_SIZES.length - 1] as number;
        if (available <= largest && !final) return -1;
        if (available <= largest && final) {
          out.push({ kind: 'junk', bytes: buf.subarray(pos), reason: `binary frame of ${available} bytes is no known size` });
          return buf.length;
        }
        // Nothing recognisable follows any known size: fall back to the common 32-byte form.
        size = BINARY_SIZES[0] as number;
      }
      this.binarySize = size;
    } else if (available < size) {
      if (final) {
        out.push({ kind: 'junk', bytes: buf.subarray(pos), reason: `truncated binary frame (${available} of ${size} bytes)` });
        return buf.length;
      }
      return -1;
    }
    out.push({ kind: 'frame', frame: buf.subarray(pos, pos + size) });
    return pos + size;
  }

  /** Whether a frame could end before `at`: what follows starts a frame or is a terminator. */
  private isBoundary(buf: Buffer, at: number): boolean {
    const b = buf[at];
    if (b === CR || b === LF || b === SPACE) return true;
    return this.startAt(buf, at, false) !== 'no';
  }

  private startAt(buf: Buffer, at: number, allowX: boolean): Start {
    const b0 = buf[at];
    if (b0 === TEXT_START) {
      for (let k = 1; k <= 3; k++) {
        const b = buf[at + k];
        if (b === undefined) return 'maybe';
        if (k < 3 ? !isLetter(b) : b !== COMMA) return 'no';
      }
      return 'text';
    }
    if (b0 === BINARY_START || (allowX && b0 === BINARY_X_START)) {
      // The id that follows is BCD: a stray `$` in text is not a frame start.
      for (let k = 1; k <= 5; k++) {
        const b = buf[at + k];
        if (b === undefined) return 'maybe';
        if (!isBcd(b)) return 'no';
      }
      return 'binary';
    }
    return 'no';
  }

  private nextStart(buf: Buffer, from: number): number {
    for (let i = from; i < buf.length; i++) {
      const b = buf[i];
      if (b !== TEXT_START && b !== BINARY_START) continue;
      if (this.startAt(buf, i, false) !== 'no') return i;
    }
    return -1;
  }
}
