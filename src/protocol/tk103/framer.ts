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
    const buf = this.buf;
    const max = this.limits.maxFrameBytes;
    // `pos` walks the pending bytes; `buf` is cut once at the end rather than once per frame.
    let pos = 0;
    while (pos < buf.length) {
      const start = buf[pos] === OPEN ? pos : buf.indexOf(OPEN, pos);
      if (start !== pos) {
        const junkEnd = start < 0 ? buf.length : start;
        out.push({ kind: 'junk', bytes: buf.subarray(pos, junkEnd), reason: 'bytes before "(" discarded' });
        pos = junkEnd;
        continue;
      }
      const end = closingParen(buf, pos, pos + Math.min(buf.length - pos, max));
      if (end < 0) {
        if (buf.length - pos >= max) {
          out.push({ kind: 'junk', bytes: buf.subarray(pos, pos + 1), reason: `no ")" within ${max} bytes` });
          pos++;
          continue;
        }
        break;
      }
      out.push({ kind: 'frame', frame: buf.subarray(pos, end + 1) });
      pos = end + 1;
    }
    if (pos > 0) this.buf = buf.subarray(pos);
    return out;
  }
}

/** The `)` ending the frame that opens at `start`, searched before `limit`; -1 when none. */
function closingParen(buf: Buffer, start: number, limit: number): number {
  let inText = false;
  for (let i = start + 1; i < limit; i++) {
    const b = buf[i];
    if (b === FREE_TEXT) inText = !inText;
    else if (b === CLOSE && !inText) return i;
  }
  return -1;
}
