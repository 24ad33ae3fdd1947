import type { Framer, FramerLimits, FramerOutput } from './types.js';

/**
 * What every family's framer shares: the pending input, bounded by the family's own rules in
 * `drain`, and the end of input. Families implement only where a frame starts and ends.
 */
export abstract class BufferedFramer implements Framer {
  protected buf: Buffer = Buffer.alloc(0);

  constructor(protected readonly limits: FramerLimits) {}

  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): FramerOutput[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return this.drain(false);
  }

  end(): FramerOutput[] {
    const out = this.drain(true);
    if (this.buf.length > 0) {
      out.push(...this.leftover(this.buf));
      this.buf = Buffer.alloc(0);
    }
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
