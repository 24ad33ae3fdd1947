import { DecodeError } from './errors.js';

export const KNOTS_TO_KMH = 1.852;

/** Rounds to the record's fixed 6 decimals for coordinates. */
export function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export function knotsToKmh(knots: number): number {
  return round2(knots * KNOTS_TO_KMH);
}

/** The characters `String.prototype.trim` removes (ECMAScript WhiteSpace and LineTerminator). */
export function isTrimSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Index of the first character `trim` keeps (s.length when it keeps none). */
export function trimStart(s: string, from = 0, to = s.length): number {
  while (from < to && isTrimSpace(s.charCodeAt(from))) from++;
  return from;
}

/** Index after the last character `trim` keeps (`from` when it keeps none). */
export function trimEnd(s: string, from = 0, to = s.length): number {
  while (to > from && isTrimSpace(s.charCodeAt(to - 1))) to--;
  return to;
}

/** Exact powers of ten (every one up to 1e22 is a double), so digits / POW10[k] rounds like Number(text). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * `s[from..to)` read as `-?\d+(\.\d+)?` (no exponent, sign, blanks or bare dot), or NaN when it is
 * not that. Equals `Number(text)`: with at most 15 digits the digits are an exact integer and one
 * division by an exact power of ten rounds correctly, as Number does; longer texts go to Number.
 */
export function parseDecimal(s: string, from: number, to: number, allowMinus: boolean): number {
  let i = from;
  const negative = allowMinus && i < to && s.charCodeAt(i) === 0x2d;
  if (negative) i++;
  const intStart = i;
  let digits = 0;
  while (i < to) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    digits = digits * 10 + (c - 0x30);
    i++;
  }
  if (i === intStart) return NaN;
  let decimals = 0;
  if (i < to) {
    if (s.charCodeAt(i) !== 0x2e) return NaN;
    i++;
    const fracStart = i;
    while (i < to) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return NaN;
      digits = digits * 10 + (c - 0x30);
      i++;
    }
    decimals = i - fracStart;
    if (decimals === 0) return NaN;
  }
  let value: number;
  if (i - intStart - (decimals > 0 ? 1 : 0) <= 15) value = decimals === 0 ? digits : digits / (POW10[decimals] as number);
  else value = Number(s.slice(intStart, to));
  return negative ? -value : value;
}

/** `s[from..to)` is exactly `\d+` / `\d{n}`. */
export function allDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    // NaN past the end is no digit either
    if (!(c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

/** Two decimal digits at `at` as a number (caller checked they are digits). */
export function digits2(s: string, at: number): number {
  return (s.charCodeAt(at) - 0x30) * 10 + (s.charCodeAt(at + 1) - 0x30);
}

/** `^\d{6}(\.\d+)?$`: an HHMMSS time of day with optional fractional seconds. */
export function isHhmmss(s: string, from = 0, to = s.length): boolean {
  if (to - from < 6 || !allDigits(s, from, from + 6)) return false;
  if (to - from === 6) return true;
  return s.charCodeAt(from + 6) === 0x2e && allDigits(s, from + 7, to);
}

/** `^\d{6}$` */
export function isSixDigits(s: string, from = 0, to = s.length): boolean {
  return to - from === 6 && allDigits(s, from, to);
}

function isHemisphereLetter(h: string): boolean {
  if (h.length !== 1) return false;
  const c = h.charCodeAt(0) | 0x20;
  return c === 0x6e || c === 0x73 || c === 0x65 || c === 0x77; // n s e w, either case
}

/**
 * Parses NMEA-style `[D]DDMM.MMMM` text into decimal degrees. Zero padding is not guaranteed in
 * H02 captures (`701.8915`, `954.9490`), so degrees are "the integer part without its last two
 * digits". Also accepts the dash form `-23-35.3408` and the no-decimal-point form `37573392`
 * (last 4 digits are minute decimals) seen in H02 firmwares.
 */
export function parseDegreesMinutes(text: string, hemisphere?: string): number {
  return parseDegreesMinutesIn(text, 0, text.length, hemisphere);
}

/** parseDegreesMinutes of `text[from..to)`, without cutting it out first. */
export function parseDegreesMinutesIn(text: string, from: number, to: number, hemisphere?: string): number {
  const start = trimStart(text, from, to);
  const end = trimEnd(text, start, to);
  if (start === end) throw new DecodeError('empty coordinate');
  let degrees: number;
  let minutes: number;
  const leadingMinus = text.charCodeAt(start) === 0x2d;
  // One pass over the hot path (every position of three families): the digits as one integer,
  // where the decimal point is, and whether the rare dash form is possible (a '-' after the first
  // character).
  let digits = 0;
  let dotAt = -1;
  let plain = true;
  let innerDash = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits = digits * 10 + (c - 0x30);
    else if (c === 0x2e && dotAt < 0 && i > start) dotAt = i;
    else {
      plain = false;
      if (c === 0x2d && i > start) innerDash = true;
    }
  }
  // `^\d+(\.\d+)?$`
  if (plain && dotAt === end - 1) plain = false;
  if (plain) {
    // [D]DDMM.MMMM read as one number: degrees are what lies above the hundreds. Without a decimal
    // point the last 4 digits are minute decimals (`37573392` = 3757.3392).
    if (dotAt < 0 && end - start < 5) throw badCoordinate(text, from, to);
    // Up to 15 digits are an exact integer, and one division by an exact power of ten rounds as
    // Number(text) does; longer texts go to Number.
    const count = end - start - (dotAt >= 0 ? 1 : 0);
    const parsed = count > 15 ? Number(text.slice(start, end)) : dotAt >= 0 ? digits / (POW10[end - dotAt - 1] as number) : digits;
    const value = dotAt >= 0 ? parsed : parsed / 10_000;
    degrees = Math.floor(value / 100);
    minutes = value - degrees * 100;
  } else {
    const dash = innerDash ? /^-?(\d{1,3})-(\d{1,2}(?:\.\d+)?)$/.exec(text.slice(start, end)) : null;
    if (!dash) throw badCoordinate(text, from, to);
    degrees = Number(dash[1]);
    minutes = Number(dash[2]);
  }
  if (!Number.isFinite(degrees) || !Number.isFinite(minutes) || minutes >= 60) throw badCoordinate(text, from, to);
  let value = degrees + minutes / 60;
  // The dash form carries its own sign (`-23-35.3408`) and usually a hemisphere letter too; the
  // letter wins so the sign is never applied twice.
  const hasHemisphere = hemisphere !== undefined && isHemisphereLetter(hemisphere);
  if (leadingMinus && !hasHemisphere) value = -value;
  if (hemisphere === 'S' || hemisphere === 'W' || hemisphere === 's' || hemisphere === 'w') value = -value;
  return round6(value);
}

function badCoordinate(text: string, from: number, to: number): DecodeError {
  return new DecodeError(`bad coordinate "${text.slice(from, to)}"`);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** `00`..`99`: two-digit fields without a string conversion per field. */
export const PAD2: readonly string[] = Array.from({ length: 100 }, (_, n) => (n < 10 ? `0${n}` : String(n)));
const pad2 = (n: number) => PAD2[n] ?? (n < 10 ? `0${n}` : String(n));

/**
 * Builds an ISO-8601 UTC string, validating ranges; two-digit years are 2000-based. Formatted by
 * hand (no Date round trip): it runs once per decoded frame.
 */
export function utcIso(year: number, month: number, day: number, hour: number, minute: number, second: number): string {
  const y = year < 100 ? 2000 + year : year;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const maxDay = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= maxDay && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 60)) {
    throw new DecodeError(`bad date/time ${y}-${month}-${day} ${hour}:${minute}:${second}`);
  }
  // A leap second is reported as :59, the last representable second.
  return `${y}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(Math.min(second, 59))}Z`;
}

/** HHMMSS (optionally with .sss) and DDMMYY digits to ISO UTC. */
export function isoFromHhmmssDdmmyy(hhmmss: string, ddmmyy: string): string {
  if (!isHhmmss(hhmmss) || !isSixDigits(ddmmyy)) {
    throw new DecodeError(`bad time "${hhmmss}" / date "${ddmmyy}"`);
  }
  return utcIso(digits2(ddmmyy, 4), digits2(ddmmyy, 2), digits2(ddmmyy, 0), digits2(hhmmss, 0), digits2(hhmmss, 2), digits2(hhmmss, 4));
}
