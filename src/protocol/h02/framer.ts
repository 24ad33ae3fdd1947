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
    while (this.buf.length > 0) {
      const buf = this.buf;
      // Terminator bytes after `#` (`#\r\n`, `# \r\n`) belong to no frame.
      let skip = 0;
      while (skip < buf.length && (buf[skip] === CR || buf[skip] === LF || buf[skip] === SPACE)) skip++;
      if (skip > 0) {
        this.buf = buf.subarray(skip);
        continue;
      }
      const start = this.startAt(buf, 0, true);
      if (start === 'maybe') {
        if (!final) break;
        out.push({ kind: 'junk', bytes: buf, reason: 'truncated frame start' });
        this.buf = Buffer.alloc(0);
        break;
      }
      if (start === 'no') {
        const next = this.nextStart(buf, 1);
        const junkEnd = next < 0 ? (final ? buf.length : Math.max(0, buf.length - 4)) : next;
        if (junkEnd === 0) break;
        out.push({ kind: 'junk', bytes: buf.subarray(0, junkEnd), reason: 'no H02 frame start (resynchronising)' });
        this.buf = buf.subarray(junkEnd);
        continue;
      }
      const taken = start === 'text' ? this.takeText(buf, out, final) : this.takeBinary(buf, out, final);
      if (!taken) break;
    }
    return out;
  }

  /** Reads one text frame; false when more bytes are needed. */
  private takeText(buf: Buffer, out: FramerOutput[], final: boolean): boolean {
    const end = buf.indexOf(TEXT_END, 1);
    if (end < 0) {
      if (buf.length > this.limits.maxFrameBytes) {
        out.push({ kind: 'junk', bytes: buf.subarray(0, 1), reason: `text frame longer than ${this.limits.maxFrameBytes} bytes without "#"` });
        this.buf = buf.subarray(1);
        return true;
      }
      if (final) {
        out.push({ kind: 'junk', bytes: buf, reason: 'text frame without "#" at end of input' });
        this.buf = Buffer.alloc(0);
        return true;
      }
      return false;
    }
    if (end + 1 > this.limits.maxFrameBytes) {
      out.push({ kind: 'junk', bytes: buf.subarray(0, end + 1), reason: `text frame longer than ${this.limits.maxFrameBytes} bytes` });
    } else {
      out.push({ kind: 'frame', frame: buf.subarray(0, end + 1) });
    }
    this.buf = buf.subarray(end + 1);
    return true;
  }

  /** Reads one binary frame; false when more bytes are needed to decide its size. */
  private takeBinary(buf: Buffer, out: FramerOutput[], final: boolean): boolean {
    let size = this.binarySize;
    if (size === undefined) {
      for (const candidate of BINARY_SIZES) {
        if (buf.length < candidate) break;
        if (buf.length === candidate ? final : this.isBoundary(buf, candidate)) {
          size = candidate;
          break;
        }
      }
      if (size === undefined) {
        const largest = BINARY_SIZES[BINARY_SIZES.length - 1] as number;
        if (buf.length <= largest && !final) return false;
        if (buf.length <= largest && final) {
          out.push({ kind: 'junk', bytes: buf, reason: `binary frame of ${buf.length} bytes is no known size` });
          this.buf = Buffer.alloc(0);
          return true;
        }
        // Nothing recognisable follows any known size: fall back to the common 32-byte form.
        size = BINARY_SIZES[0] as number;
      }
      this.binarySize = size;
    } else if (buf.length < size) {
      if (final) {
        out.push({ kind: 'junk', bytes: buf, reason: `truncated binary frame (${buf.length} of ${size} bytes)` });
        this.buf = Buffer.alloc(0);
        return true;
      }
      return false;
    }
    out.push({ kind: 'frame', frame: buf.subarray(0, size) });
    this.buf = buf.subarray(size);
    return true;
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
