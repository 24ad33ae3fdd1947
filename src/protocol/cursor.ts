import { DecodeError } from './errors.js';
import { PAD2, trimEnd, trimStart } from './geo.js';

/**
 * Bounds-checked big-endian reader over one frame. Every binary read in the codecs goes through
 * it so a short or lying frame becomes a DecodeError with the offset, never an out-of-range read.
 */
export class ByteCursor {
  private pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): number {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(`truncated: need ${n} byte(s) for ${what}, have ${this.end - this.pos}`, this.pos);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.buf[this.need(1, what)] as number;
  }

  u16(what = 'u16'): number {
    return this.buf.readUInt16BE(this.need(2, what));
  }

  u24(what = 'u24'): number {
    const at = this.need(3, what);
    return this.buf.readUIntBE(at, 3);
  }

  u32(what = 'u32'): number {
    return this.buf.readUInt32BE(this.need(4, what));
  }

  i32(what = 'i32'): number {
    return this.buf.readInt32BE(this.need(4, what));
  }

  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }

  skip(n: number, what = 'skip'): void {
    this.need(n, what);
  }

  /** Reads n bytes as packed BCD digits (two per byte, high nibble first). */
  bcd(n: number, what = 'bcd'): string {
    const b = this.bytes(n, what);
    let out = '';
    for (let i = 0; i < b.length; i++) {
      const byte = b[i] as number;
      const hi = byte >> 4;
      const lo = byte & 0x0f;
      if (hi > 9 || lo > 9) throw new DecodeError(`invalid BCD digit in ${what}`, this.pos - n);
      out += PAD2[hi * 10 + lo] as string;
    }
    return out;
  }

  /** Reads one byte as a two-digit BCD number. */
  bcdByte(what = 'bcd byte'): number {
    const byte = this.u8(what);
    const hi = byte >> 4;
    const lo = byte & 0x0f;
    if (hi > 9 || lo > 9) throw new DecodeError(`invalid BCD digit in ${what}`, this.pos - 1);
    return hi * 10 + lo;
  }
}

/**
 * A copy of `s` that does not keep alive the string it was cut from. V8 makes a substring of 13 or
 * more characters a view of its parent, so a device id sliced from a login frame's text held that
 * whole text for as long as the connection kept the id (measured: 10,000 of them with 10,000
 * trackers). For the few strings a connection keeps; per-frame values stay views.
 */
export function detachedCopy(s: string): string {
  // latin1 round-trips every string of 8-bit characters exactly and keeps it one byte a character.
  return /^[\u0000-\u00ff]*$/.test(s) ? Buffer.from(s, 'latin1').toString('latin1') : Buffer.from(s, 'utf16le').toString('utf16le');
}

/**
 * The comma-separated fields of one text frame, kept as offsets into its text. `String.split`
 * makes a substring per field (most of the cost of decoding a position); the codecs parse most
 * fields in place and cut out only the strings a message keeps. Missing fields read as empty.
 */
export class TextFields {
  text = '';
  count = 0;
  private starts = new Int32Array(32);
  private ends = new Int32Array(32);

  /**
   * Splits `text` at every `,` from `from` on (what `text.slice(from).split(',')` would give).
   * With `limit`, only the first `limit` fields are located: `count` is then at most `limit`, for
   * a codec that never looks further (a run of records glued together holds hundreds of fields).
   */
  reset(text: string, from = 0, limit = Infinity): this {
    this.text = text;
    let n = 0;
    let at = from;
    while (n < limit) {
      if (n === this.starts.length) this.grow();
      const comma = text.indexOf(',', at);
      this.starts[n] = at;
      this.ends[n] = comma < 0 ? text.length : comma;
      n++;
      if (comma < 0) break;
      at = comma + 1;
    }
    this.count = n;
    return this;
  }

  start(i: number): number {
    return i < this.count ? (this.starts[i] as number) : 0;
  }

  end(i: number): number {
    return i < this.count ? (this.ends[i] as number) : 0;
  }

  /** The character code of field `i` when it is one character once trimmed, else -1. */
  trimmedChar(i: number): number {
    const a = trimStart(this.text, this.start(i), this.end(i));
    return trimEnd(this.text, a, this.end(i)) - a === 1 ? this.text.charCodeAt(a) : -1;
  }

  /** Field `i` holds nothing but whitespace (or is missing). */
  isBlank(i: number): boolean {
    return trimStart(this.text, this.start(i), this.end(i)) === this.end(i);
  }

  /** Field `i` as a string; undefined past the last field. */
  get(i: number): string | undefined {
    return i < this.count ? this.text.slice(this.starts[i], this.ends[i]) : undefined;
  }

  /** Fields `from` to `to` (exclusive) as strings (`split(',').slice(from, to)`). */
  slice(from: number, to = this.count): string[] {
    const out: string[] = [];
    for (let i = from; i < Math.min(to, this.count); i++) out.push(this.text.slice(this.starts[i], this.ends[i]));
    return out;
  }

  private grow(): void {
    const starts = new Int32Array(this.starts.length * 2);
    const ends = new Int32Array(this.ends.length * 2);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }
}
