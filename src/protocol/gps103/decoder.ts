/**
 * GPS103 codec (Coban/Xexun `imei:` text, PROTOCOLS.md section 6). Pure.
 */
import { DecodeError } from '../errors.js';
import { allDigits, knotsToKmh, parseDecimal, parseDegreesMinutes, PAD2, trimEnd, trimStart } from '../geo.js';
import type { AlarmName, DecodedMessage } from '../types.js';

export type Gps103Kind = 'login' | 'heartbeat' | 'data';

export interface Gps103Decoded {
  kind: Gps103Kind;
  message: DecodedMessage;
  /** a heartbeat IMEI was prefixed to the data record (`359769031878322imei:...`) */
  heartbeatPrefix: boolean;
}

/** Keyword -> alarm (PROTOCOLS.md 6); `tracker` and the other periodic keywords raise none. */
const KEYWORD_ALARMS: ReadonlyArray<[string, AlarmName]> = [
  ['help me', 'sos'],
  ['low battery', 'lowBattery'],
  ['stockade', 'geofence'],
  ['move', 'movement'],
  ['speed', 'overspeed'],
  ['ac alarm', 'powerCut'],
  ['door alarm', 'door'],
  ['sensor alarm', 'vibration'],
  ['accident alarm', 'accident'],
  ['bonnet alarm', 'bonnet'],
  ['footbrake alarm', 'footBrake'],
  ['t:', 'temperature'],
  ['oil', 'fuelLeak'],
  ['dtc', 'fault'],
];

function keywordAlarm(keyword: string): AlarmName | undefined {
  if (keyword === 'tracker' || keyword === '') return undefined;
  const k = keyword.toLowerCase();
  for (const [prefix, alarm] of KEYWORD_ALARMS) if (k.startsWith(prefix)) return alarm;
  return undefined;
}

function base(imei: string): DecodedMessage {
  return { protocol: 'gps103', msgType: 'other', type: 'other', emitsRecord: false, alarms: [], deviceId: imei };
}

export function decodeGps103(frame: Buffer, _receivedAt: Date): Gps103Decoded {
  const text = frame.toString('latin1').trim();
  const login = text.charCodeAt(0) === 0x23 ? /^##,imei:(\d{15}),A$/.exec(text) : null;
  if (login) {
    const m = base(login[1] as string);
    m.type = 'login';
    m.msgType = 'login';
    return { kind: 'login', message: m, heartbeatPrefix: false };
  }
  const startsWithDigit = text.charCodeAt(0) >= 0x30 && text.charCodeAt(0) <= 0x39;
  if (startsWithDigit && text.length === 15 && /^\d{15}$/.test(text)) {
    const m = base(text);
    m.type = 'heartbeat';
    m.msgType = 'heartbeat';
    return { kind: 'heartbeat', message: m, heartbeatPrefix: false };
  }
  let body = text;
  let heartbeatPrefix = false;
  if (startsWithDigit && /^\d{15}imei:/.test(text)) {
    body = text.slice(15);
    heartbeatPrefix = true;
  }
  if (!body.startsWith('imei:')) throw new DecodeError('GPS103: record does not start with "imei:"');
  // `imei:` holds no comma, so splitting the whole body and dropping it from the first field
  // gives the fields of the text after it.
  const f = body.split(',');
  const first = f[0] as string;
  const imeiStart = trimStart(first, 5);
  const imeiEnd = trimEnd(first, imeiStart);
  if (imeiEnd - imeiStart !== 15 || !allDigits(first, imeiStart, imeiEnd)) {
    throw new DecodeError(`GPS103: bad IMEI "${first.slice(imeiStart, imeiEnd).slice(0, 20)}"`);
  }
  const imei = first.slice(imeiStart, imeiEnd);
  const keyword = f[1] ?? '';
  const m = base(imei);
  m.msgType = keyword;
  const attributes: Record<string, string | number | boolean> = { keyword };
  m.attributes = attributes;
  m.emitsRecord = true;
  const alarm = keywordAlarm(keyword);
  if (alarm) m.alarms.push(alarm);

  const fixKind = trimmedChar(f[4]);
  if (fixKind === 0x46 /* F */) {
    decodeFix(m, f, attributes);
    m.type = alarm ? 'alarm' : 'position';
  } else if (fixKind === 0x4c /* L */) {
    const lac = (f[7] ?? '').trim();
    const cid = (f[9] ?? '').trim();
    if (/^[0-9A-Fa-f]+$/.test(lac) && /^[0-9A-Fa-f]+$/.test(cid)) {
      attributes['lac'] = parseInt(lac, 16);
      attributes['cid'] = parseInt(cid, 16);
    }
    m.type = alarm ? 'alarm' : 'lbs';
  } else {
    // OBD, photo (`vr`), `L,*` and other vendor records: kept, not interpreted.
    m.type = alarm ? 'alarm' : 'other';
    m.emitsRecord = alarm !== undefined || f.length > 3;
    if (keyword === 'vr' || keyword === 'vt') m.type = 'lbs';
  }
  if ((keyword.length === 6 || keyword.length === 7) && m.ignition === undefined) {
    const k = keyword.toLowerCase();
    if (k === 'acc on') m.ignition = true;
    else if (k === 'acc off') m.ignition = false;
  }
  return { kind: 'data', message: m, heartbeatPrefix };
}

/** The one character a field holds once trimmed, or -1 (blank or longer). */
function trimmedChar(field: string | undefined): number {
  if (field === undefined) return -1;
  const a = trimStart(field);
  return trimEnd(field, a) - a === 1 ? field.charCodeAt(a) : -1;
}

/** `^[NS]$` / `^[EW]$` once trimmed (upper case only, as the firmwares write them). */
function isLetterPair(field: string, upper1: number, upper2: number): boolean {
  const c = trimmedChar(field);
  return c === upper1 || c === upper2;
}

/** `F,<hhmmss.sss UTC>,A,<lat>,N,<lon>,E,<speed kn>,<course>,<alt>,<acc>,<door>,...` */
function decodeFix(m: DecodedMessage, f: string[], attributes: Record<string, string | number | boolean>): void {
  const utc = (f[5] ?? '').trim();
  m.valid = trimmedChar(f[6]) === 0x41; // A
  let latText = f[7] ?? '';
  let ns = f[8] ?? '';
  let lonText = f[9] ?? '';
  let ew = f[10] ?? '';
  // One firmware writes the hemisphere before the value (`A,N,5306.64155,E,00700.77848`).
  if (isLetterPair(latText, 0x4e, 0x53) && ns.length > 0 && ns.charCodeAt(0) >= 0x30 && ns.charCodeAt(0) <= 0x39) {
    [latText, ns, lonText, ew] = [ns, latText, ew, lonText];
  }
  if (trimStart(latText) < latText.length) {
    const h = trimmedChar(ns);
    if (h === 0x4e) m.lat = parseDegreesMinutes(latText, 'N');
    else if (h === 0x53) m.lat = parseDegreesMinutes(latText, 'S');
  }
  if (trimStart(lonText) < lonText.length) {
    const h = trimmedChar(ew);
    if (h === 0x45) m.lon = parseDegreesMinutes(lonText, 'E');
    else if (h === 0x57) m.lon = parseDegreesMinutes(lonText, 'W');
  }
  const speed = numberField(f[11]);
  if (speed !== undefined && speed >= 0) m.speedKmh = knotsToKmh(speed);
  const course = numberField(f[12]);
  if (course !== undefined && course >= 0 && course <= 360) m.course = course;
  const alt = numberField(f[13]);
  if (alt !== undefined) m.altitude = alt;
  const acc = trimmedChar(f[14]);
  if (acc === 0x31 || acc === 0x30) m.ignition = acc === 0x31;
  const door = trimmedChar(f[15]);
  if (door === 0x31 || door === 0x30) attributes['door'] = door === 0x31;
  const fixTime = fixTimeFrom(f[2] ?? '', utc);
  if (fixTime) m.fixTime = fixTime;
}

/** A plain decimal field, or undefined when empty or not a number (`0x10`, `1e3` are not). */
function numberField(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const a = trimStart(text);
  const n = parseDecimal(text, a, trimEnd(text, a), true);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * The third field is the unit's LOCAL date/time; the `F` field is the UTC time of day. Take the
 * date from the local field and move it by a day when local and UTC clock times are more than
 * 12 h apart (the unit's timezone crossed midnight), as Traccar does.
 */
export function fixTimeFrom(local: string, utc: string): string | undefined {
  if (utc.length < 6 || !isDigits(utc, 0, 6) || (utc.length > 6 && utc.charCodeAt(6) !== 0x2e)) return undefined;
  const uh = num2(utc, 0);
  const um = num2(utc, 2);
  const us = num2(utc, 4);
  if (uh > 23 || um > 59 || us > 59) return undefined;
  const l = local.trim();
  let y: number, mo: number, d: number, hh: number, mi: number;
  let ss = 0;
  if ((l.length === 10 || l.length === 12) && isDigits(l, 0, l.length)) {
    [y, mo, d, hh, mi] = [num2(l, 0), num2(l, 2), num2(l, 4), num2(l, 6), num2(l, 8)];
    if (l.length === 12) ss = num2(l, 10);
  } else {
    const slashed = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})$/.exec(l);
    if (!slashed) return undefined;
    [y, mo, d, hh, mi] = [1, 2, 3, 4, 5].map((i) => Number(slashed[i])) as [number, number, number, number, number];
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  // Date.UTC arithmetic without a Date: a day past the month's end (`1602311500`) runs into the
  // next month and hours/minutes up to 99 into the next days, as Date.UTC normalizes them.
  const localOfDay = hh * 3600 + mi * 60 + ss;
  const utcOfDay = uh * 3600 + um * 60 + us;
  let day = daysFromEpoch(2000 + y, mo) + d - 1;
  const half = 12 * 3600;
  if (utcOfDay - localOfDay > half) day -= 1;
  else if (localOfDay - utcOfDay > half) day += 1;
  return isoFromDay(day, utcOfDay);
}

const MONTH_START = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Days from 1970-01-01 to the first of `month` (1-12) in `year` (1970 or later). */
function daysFromEpoch(year: number, month: number): number {
  const before = year - 1;
  const leapDays = Math.floor(before / 4) - Math.floor(before / 100) + Math.floor(before / 400) - 477; // 477 leap years before 1970
  return (year - 1970) * 365 + leapDays + (MONTH_START[month - 1] as number) + (month > 2 && isLeap(year) ? 1 : 0);
}

/** `YYYY-MM-DDTHH:MM:SSZ` of day number `day` (from 1970-01-01) at `second` (0..86399) of it. */
function isoFromDay(day: number, second: number): string {
  let year = 1970 + Math.floor(day / 365.2425);
  while (daysFromEpoch(year, 1) > day) year--;
  while (daysFromEpoch(year + 1, 1) <= day) year++;
  const dayOfYear = day - daysFromEpoch(year, 1);
  const leap = isLeap(year) ? 1 : 0;
  let month = 1;
  while (month < 12 && dayOfYear >= (MONTH_START[month] as number) + (month >= 2 ? leap : 0)) month++;
  const dayOfMonth = dayOfYear - (MONTH_START[month - 1] as number) - (month > 2 ? leap : 0) + 1;
  const h = Math.floor(second / 3600);
  const mi = Math.floor((second % 3600) / 60);
  return `${year}-${PAD2[month] as string}-${PAD2[dayOfMonth] as string}T${PAD2[h] as string}:${PAD2[mi] as string}:${PAD2[second % 60] as string}Z`;
}

function isDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function num2(s: string, at: number): number {
  return (s.charCodeAt(at) - 0x30) * 10 + (s.charCodeAt(at + 1) - 0x30);
}
