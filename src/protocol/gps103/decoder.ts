/**
 * GPS103 codec (Coban/Xexun `imei:` text, PROTOCOLS.md section 6). Pure.
 */
import { DecodeError } from '../errors.js';
import { TextFields } from '../cursor.js';
import { allDigits, digits2, knotsToKmh, PAD2, parseDecimal, parseDegreesMinutesIn, trimEnd, trimStart } from '../geo.js';
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
  let body = 0;
  let heartbeatPrefix = false;
  if (startsWithDigit && /^\d{15}imei:/.test(text)) {
    body = 15;
    heartbeatPrefix = true;
  }
  if (!text.startsWith('imei:', body)) throw new DecodeError('GPS103: record does not start with "imei:"');
  // `imei:` holds no comma, so the first field is `imei:` and the IMEI.
  // Nothing past field 15 (door) is read, and `count` is only compared with 3.
  const F = FIELDS.reset(text, body, FIELDS_READ);
  const imeiStart = trimStart(text, body + 5, F.end(0));
  const imeiEnd = trimEnd(text, imeiStart, F.end(0));
  if (imeiEnd - imeiStart !== 15 || !allDigits(text, imeiStart, imeiEnd)) {
    throw new DecodeError(`GPS103: bad IMEI "${text.slice(imeiStart, imeiEnd).slice(0, 20)}"`);
  }
  const imei = text.slice(imeiStart, imeiEnd);
  const keyword = F.get(1) ?? '';
  const m = base(imei);
  m.msgType = keyword;
  const attributes: Record<string, string | number | boolean> = { keyword };
  m.attributes = attributes;
  m.emitsRecord = true;
  const alarm = keywordAlarm(keyword);
  if (alarm) m.alarms.push(alarm);

  const fixKind = F.trimmedChar(4);
  if (fixKind === 0x46 /* F */) {
    decodeFix(m, F, attributes);
    m.type = alarm ? 'alarm' : 'position';
  } else if (fixKind === 0x4c /* L */) {
    const lac = (F.get(7) ?? '').trim();
    const cid = (F.get(9) ?? '').trim();
    if (/^[0-9A-Fa-f]+$/.test(lac) && /^[0-9A-Fa-f]+$/.test(cid)) {
      attributes['lac'] = parseInt(lac, 16);
      attributes['cid'] = parseInt(cid, 16);
    }
    m.type = alarm ? 'alarm' : 'lbs';
  } else {
    // OBD, photo (`vr`), `L,*` and other vendor records: kept, not interpreted.
    m.type = alarm ? 'alarm' : 'other';
    m.emitsRecord = alarm !== undefined || F.count > 3;
    if (keyword === 'vr' || keyword === 'vt') m.type = 'lbs';
  }
  if ((keyword.length === 6 || keyword.length === 7) && m.ignition === undefined) {
    const k = keyword.toLowerCase();
    if (k === 'acc on') m.ignition = true;
    else if (k === 'acc off') m.ignition = false;
  }
  return { kind: 'data', message: m, heartbeatPrefix };
}

/** Scratch field offsets for the record being decoded (decoding is synchronous and never nested). */
const FIELDS = new TextFields();
const FIELDS_READ = 17;

/** `F,<hhmmss.sss UTC>,A,<lat>,N,<lon>,E,<speed kn>,<course>,<alt>,<acc>,<door>,...` */
function decodeFix(m: DecodedMessage, F: TextFields, attributes: Record<string, string | number | boolean>): void {
  const text = F.text;
  m.valid = F.trimmedChar(6) === 0x41; // A
  let lat = 7;
  let ns = 8;
  let lon = 9;
  let ew = 10;
  // One firmware writes the hemisphere before the value (`A,N,5306.64155,E,00700.77848`).
  const first = F.trimmedChar(lat);
  const nsStart = F.start(ns);
  if ((first === 0x4e || first === 0x53) && F.end(ns) > nsStart && text.charCodeAt(nsStart) >= 0x30 && text.charCodeAt(nsStart) <= 0x39) {
    [lat, ns, lon, ew] = [ns, lat, ew, lon];
  }
  // Upper-case hemispheres only, as the firmwares write them.
  if (!F.isBlank(lat)) {
    const h = F.trimmedChar(ns);
    if (h === 0x4e) m.lat = parseDegreesMinutesIn(text, F.start(lat), F.end(lat), 'N');
    else if (h === 0x53) m.lat = parseDegreesMinutesIn(text, F.start(lat), F.end(lat), 'S');
  }
  if (!F.isBlank(lon)) {
    const h = F.trimmedChar(ew);
    if (h === 0x45) m.lon = parseDegreesMinutesIn(text, F.start(lon), F.end(lon), 'E');
    else if (h === 0x57) m.lon = parseDegreesMinutesIn(text, F.start(lon), F.end(lon), 'W');
  }
  const speed = numberField(F, 11);
  if (speed !== undefined && speed >= 0) m.speedKmh = knotsToKmh(speed);
  const course = numberField(F, 12);
  if (course !== undefined && course >= 0 && course <= 360) m.course = course;
  const alt = numberField(F, 13);
  if (alt !== undefined) m.altitude = alt;
  const acc = F.trimmedChar(14);
  if (acc === 0x31 || acc === 0x30) m.ignition = acc === 0x31;
  const door = F.trimmedChar(15);
  if (door === 0x31 || door === 0x30) attributes['door'] = door === 0x31;
  const utcStart = trimStart(text, F.start(5), F.end(5));
  const fixTime = fixTimeIn(text, F.start(2), F.end(2), text, utcStart, trimEnd(text, utcStart, F.end(5)));
  if (fixTime) m.fixTime = fixTime;
}

/** A plain decimal field, or undefined when empty, missing or not a number (`0x10`, `1e3` are not). */
function numberField(F: TextFields, i: number): number | undefined {
  if (i >= F.count) return undefined;
  const a = trimStart(F.text, F.start(i), F.end(i));
  const n = parseDecimal(F.text, a, trimEnd(F.text, a, F.end(i)), true);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * The third field is the unit's LOCAL date/time; the `F` field is the UTC time of day. Take the
 * date from the local field and move it by a day when local and UTC clock times are more than
 * 12 h apart (the unit's timezone crossed midnight), as Traccar does.
 */
export function fixTimeFrom(local: string, utc: string): string | undefined {
  return fixTimeIn(local, 0, local.length, utc, 0, utc.length);
}

/** fixTimeFrom of `local[la..lb)` (trimmed here) and `utc[ua..ub)` (as is). */
function fixTimeIn(local: string, la: number, lb: number, utc: string, ua: number, ub: number): string | undefined {
  if (ub - ua < 6 || !allDigits(utc, ua, ua + 6) || (ub - ua > 6 && utc.charCodeAt(ua + 6) !== 0x2e)) return undefined;
  const uh = digits2(utc, ua);
  const um = digits2(utc, ua + 2);
  const us = digits2(utc, ua + 4);
  if (uh > 23 || um > 59 || us > 59) return undefined;
  const a = trimStart(local, la, lb);
  const b = trimEnd(local, a, lb);
  let y: number, mo: number, d: number, hh: number, mi: number;
  let ss = 0;
  if ((b - a === 10 || b - a === 12) && allDigits(local, a, b)) {
    y = digits2(local, a);
    mo = digits2(local, a + 2);
    d = digits2(local, a + 4);
    hh = digits2(local, a + 6);
    mi = digits2(local, a + 8);
    if (b - a === 12) ss = digits2(local, a + 10);
  } else {
    const slashed = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})$/.exec(local.slice(a, b));
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
