import type { Framer, FramerLimits, FramerOutput } from './types.js';

/**
 * What `buf` points at when nothing is pending. An idle connection would otherwise keep the empty
 * tail of its last chunk, and with it that chunk's whole backing store, alive until its next
 * report (some hundred bytes per connection, times thousands of mostly idle trackers).
 */
const EMPTY = Buffer.alloc(0);

/**
 * What every family's framer shares: the pending input, bounded by the family's own rules in
 * `drain`, and the end of input. Families implement only where a frame starts and ends.
 */
export abstract class BufferedFramer implements Framer {
  protected buf: Buffer = EMPTY;

  constructor(protected readonly limits: FramerLimits) {}

  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): FramerOutput[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out = this.drain(false);
    if (this.buf.length === 0) this.buf = EMPTY;
    return out;
  }

  end(): FramerOutput[] {
    const out = this.drain(true);
    if (this.buf.length > 0) {
      out.push(...this.leftover(this.buf));
    }
    this.buf = EMPTY;
    return out;
  }

  /** Emits every complete frame (and junk) from `buf`; `final` when no more input will come. */
  protected abstract drain(final: boolean): FramerOutput[];

  /** What the bytes left at the end of input are: junk, unless a family accepts them. */
  protected leftover(bytes: Buffer): FramerOutput[] {
    return [{ kind: 'junk', bytes, reason: this.leftoverReason }];
  }

  protected abstract readonly leftoverReason: string;
}
