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

/**
 * Parses NMEA-style `[D]DDMM.MMMM` text into decimal degrees. Zero padding is not guaranteed in
 * H02 captures (`701.8915`, `954.9490`), so degrees are "the integer part without its last two
 * digits". Also accepts the dash form `-23-35.3408` and the no-decimal-point form `37573392`
 * (last 4 digits are minute decimals) seen in H02 firmwares.
 */
export function parseDegreesMinutes(text: string, hemisphere?: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new DecodeError('empty coordinate');
  let degrees: number;
  let minutes: number;
  // Hot path (every position of three families): only look for the rare dash form when a '-'
  // appears after the first character.
  const dash = trimmed.indexOf('-', 1) > 0 ? /^-?(\d{1,3})-(\d{1,2}(?:\.\d+)?)$/.exec(trimmed) : null;
  if (dash) {
    degrees = Number(dash[1]);
    minutes = Number(dash[2]);
  } else if (/^\d+(\.\d+)?$/.test(trimmed)) {
    // [D]DDMM.MMMM read as one number: degrees are what lies above the hundreds. Without a decimal
    // point the last 4 digits are minute decimals (`37573392` = 3757.3392).
    const dot = trimmed.indexOf('.');
    if (dot < 0 && trimmed.length < 5) throw new DecodeError(`bad coordinate "${text}"`);
    const value = dot >= 0 ? Number(trimmed) : Number(trimmed) / 10_000;
    degrees = Math.floor(value / 100);
    minutes = value - degrees * 100;
  } else {
    throw new DecodeError(`bad coordinate "${text}"`);
  }
  if (!Number.isFinite(degrees) || !Number.isFinite(minutes) || minutes >= 60) {
    throw new DecodeError(`bad coordinate "${text}"`);
  }
  let value = degrees + minutes / 60;
  // The dash form carries its own sign (`-23-35.3408`) and usually a hemisphere letter too; the
  // letter wins so the sign is never applied twice.
  const hasHemisphere = hemisphere !== undefined && /^[NSEWnsew]$/.test(hemisphere);
  if (trimmed.startsWith('-') && !hasHemisphere) value = -value;
  if (hemisphere === 'S' || hemisphere === 'W' || hemisphere === 's' || hemisphere === 'w') value = -value;
  return round6(value);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

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
  if (!/^\d{6}(\.\d+)?$/.test(hhmmss) || !/^\d{6}$/.test(ddmmyy)) {
    throw new DecodeError(`bad time "${hhmmss}" / date "${ddmmyy}"`);
  }
  return utcIso(
    Number(ddmmyy.slice(4, 6)),
    Number(ddmmyy.slice(2, 4)),
    Number(ddmmyy.slice(0, 2)),
    Number(hhmmss.slice(0, 2)),
    Number(hhmmss.slice(2, 4)),
    Number(hhmmss.slice(4, 6)),
  );
}
