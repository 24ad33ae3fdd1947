import type { ProtocolFamily } from './types.js';

/**
 * Protocol auto-detection from the first bytes of a TCP connection or of one UDP datagram
 * (PROTOCOLS.md section 2). Pure: looks at bytes only.
 */
export type Detection =
  | { kind: 'family'; family: ProtocolFamily; /** bytes before the frame start, to discard */ skip: number }
  | { kind: 'unsupported'; name: 'jt808' | 'http' | 'tls' | 'ssh'; reason: string }
  | { kind: 'need_more' }
  | { kind: 'unknown'; reason: string };

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const STAR = 0x2a; // '*'  H02 text
const DOLLAR = 0x24; // '$'  H02 binary
const PAREN = 0x28; // '('  TK103
const HASH = 0x23; // '#'  GPS103 login `##,imei:`
const GT06_SHORT = 0x78;
const GT06_LONG = 0x79;
const JT808 = 0x7e;
const TLS_HANDSHAKE = 0x16;

const HTTP_METHODS = ['GET ', 'POST', 'HEAD', 'PUT ', 'OPTI', 'DELE', 'CONN', 'PATC', 'PRI '];

const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
const isLetter = (b: number | undefined) => b !== undefined && ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));

/** Compares `buf[at..]` with an ASCII prefix; `partial` when the buffer ends inside a match. */
function matchAscii(buf: Buffer, at: number, text: string): 'yes' | 'no' | 'partial' {
  for (let i = 0; i < text.length; i++) {
    const b = buf[at + i];
    if (b === undefined) return 'partial';
    if (b !== text.charCodeAt(i)) return 'no';
  }
  return 'yes';
}

/**
 * Decides the family of the data starting at `buf`. `final` says no more bytes will come (a UDP
 * datagram, or the detection budget is spent), so a partial match becomes a decision.
 */
export function detectProtocol(buf: Buffer, final = false): Detection {
  let i = 0;
  // Terminators of a previous frame and keep-alive blank lines are noise before a frame (traccar#1425).
  while (i < buf.length && (buf[i] === CR || buf[i] === LF || buf[i] === SPACE || buf[i] === 0)) i++;
  if (i >= buf.length) return final ? { kind: 'unknown', reason: 'only blank bytes' } : { kind: 'need_more' };
  const atStart = detectAt(buf, i, final);
  if (atStart.kind !== 'unknown') return atStart;
  // A read may begin mid-frame (traccar-web#281): resynchronise on a strong start marker further on.
  const later = scanForStrongMarker(buf, i + 1);
  if (later) return later;
  return atStart;
}

function detectAt(buf: Buffer, i: number, final: boolean): Detection {
  const b0 = buf[i] as number;
  const b1 = buf[i + 1];
  const family = (f: ProtocolFamily): Detection => ({ kind: 'family', family: f, skip: i });
  const needMore = (reason: string): Detection => (final ? { kind: 'unknown', reason } : { kind: 'need_more' });

  if (b0 === GT06_SHORT || b0 === GT06_LONG) {
    if (b1 === undefined) return needMore('truncated GT06 start marker');
    if (b1 === b0) return family('gt06');
    return { kind: 'unknown', reason: `0x${b0.toString(16)} not followed by its twin` };
  }
  if (b0 === STAR) {
    // `*` + 2-character maker + `,` (`*HQ,`, `*TH,`, `*hq,`)
    for (let k = 1; k <= 3; k++) {
      const b = buf[i + k];
      if (b === undefined) return needMore('truncated H02 header');
      if (k < 3 ? !isLetter(b) : b !== 0x2c) return { kind: 'unknown', reason: 'a "*" not followed by a maker and ","' };
    }
    return family('h02');
  }
  if (b0 === DOLLAR) return family('h02');
  if (b0 === PAREN) return family('tk103');
  if (b0 === HASH) {
    const m = matchAscii(buf, i, '##,imei:');
    if (m === 'yes') return family('gps103');
    if (m === 'partial') return needMore('truncated GPS103 login');
    return { kind: 'unknown', reason: 'a "#" not starting "##,imei:"' };
  }
  if (b0 === 0x69 /* i */) {
    const m = matchAscii(buf, i, 'imei:');
    if (m === 'yes') return family('gps103');
    if (m === 'partial') return needMore('truncated GPS103 record');
  }
  if (isDigit(b0)) {
    // GPS103 heartbeat: the bare IMEI, optionally followed by `;` or by a data record.
    let n = 0;
    while (isDigit(buf[i + n])) n++;
    if (n >= 15) return family('gps103');
    if (i + n >= buf.length) return needMore('digits without a frame');
    return { kind: 'unknown', reason: 'digits that are not a 15-digit IMEI' };
  }
  if (b0 === JT808) return { kind: 'unsupported', name: 'jt808', reason: 'JT/T 808 (0x7E) is not implemented' };
  if (b0 === TLS_HANDSHAKE && b1 === 0x03) return { kind: 'unsupported', name: 'tls', reason: 'TLS handshake on a plain tracker port' };
  for (const method of HTTP_METHODS) {
    const m = matchAscii(buf, i, method);
    if (m === 'yes') return { kind: 'unsupported', name: 'http', reason: `HTTP request (${method.trim()})` };
    if (m === 'partial' && !final) return { kind: 'need_more' };
  }
  if (matchAscii(buf, i, 'SSH-') === 'yes') return { kind: 'unsupported', name: 'ssh', reason: 'SSH client' };
  return { kind: 'unknown', reason: `no tracker protocol starts with 0x${b0.toString(16).padStart(2, '0')}` };
}

const STRONG_MARKERS: ReadonlyArray<[string | Buffer, ProtocolFamily]> = [
  ['*HQ,', 'h02'],
  ['*TH,', 'h02'],
  ['*hq,', 'h02'],
  [Buffer.from([0x78, 0x78]), 'gt06'],
  [Buffer.from([0x79, 0x79]), 'gt06'],
  ['##,imei:', 'gps103'],
  ['imei:', 'gps103'],
];

function scanForStrongMarker(buf: Buffer, from: number): Detection | undefined {
  let best: { at: number; family: ProtocolFamily } | undefined;
  for (const [marker, family] of STRONG_MARKERS) {
    const at = buf.indexOf(marker, from);
    if (at >= 0 && (best === undefined || at < best.at)) best = { at, family };
  }
  return best ? { kind: 'family', family: best.family, skip: best.at } : undefined;
}
