import { BufferedFramer } from '../framer-base.js';
import type { FramerOutput } from '../types.js';

const OPEN = 0x28; // '('
const CLOSE = 0x29; // ')'
const FREE_TEXT = 0x24; // '$': command results are quoted `$...$` and may contain ')' and CR LF

/** TK103 framer: `(` ... the first `)` outside a `$...$` free-text field. */
export class Tk103Framer extends BufferedFramer {
  protected readonly leftoverReason = 'unterminated TK103 frame at end of input';

  protected drain(): FramerOutput[] {
    const out: FramerOutput[] = [];
    while (this.buf.length > 0) {
      const buf = this.buf;
      const start = buf.indexOf(OPEN);
      if (start !== 0) {
        const junkEnd = start < 0 ? buf.length : start;
        out.push({ kind: 'junk', bytes: buf.subarray(0, junkEnd), reason: 'bytes before "(" discarded' });
        this.buf = buf.subarray(junkEnd);
        continue;
      }
      const end = closingParen(buf, Math.min(buf.length, this.limits.maxFrameBytes));
      if (end < 0) {
        if (buf.length >= this.limits.maxFrameBytes) {
          out.push({ kind: 'junk', bytes: buf.subarray(0, 1), reason: `no ")" within ${this.limits.maxFrameBytes} bytes` });
          this.buf = buf.subarray(1);
          continue;
        }
        break;
      }
      out.push({ kind: 'frame', frame: buf.subarray(0, end + 1) });
      this.buf = buf.subarray(end + 1);
    }
    return out;
  }
}

function closingParen(buf: Buffer, limit: number): number {
  let inText = false;
  for (let i = 1; i < limit; i++) {
    const b = buf[i];
    if (b === FREE_TEXT) inText = !inText;
    else if (b === CLOSE && !inText) return i;
  }
  return -1;
}
