/**
 * GPS103 codec (Coban/Xexun `imei:` text, PROTOCOLS.md section 6). Pure.
 */
import { DecodeError } from '../errors.js';
import { knotsToKmh, parseDegreesMinutes } from '../geo.js';
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
  const f = body.slice(5).split(',');
  const imei = (f[0] ?? '').trim();
  if (!/^\d{15}$/.test(imei)) throw new DecodeError(`GPS103: bad IMEI "${imei.slice(0, 20)}"`);
  const keyword = f[1] ?? '';
  const m = base(imei);
  m.msgType = keyword;
  m.attributes = { keyword };
  m.emitsRecord = true;
  const alarm = keywordAlarm(keyword);
  if (alarm) m.alarms.push(alarm);

  const fixKind = (f[4] ?? '').trim();
  if (fixKind === 'F') {
    decodeFix(m, f);
    m.type = alarm ? 'alarm' : 'position';
  } else if (fixKind === 'L') {
    const lac = (f[7] ?? '').trim();
    const cid = (f[9] ?? '').trim();
    if (/^[0-9A-Fa-f]+$/.test(lac) && /^[0-9A-Fa-f]+$/.test(cid)) {
      m.attributes = { ...m.attributes, lac: parseInt(lac, 16), cid: parseInt(cid, 16) };
    }
    m.type = alarm ? 'alarm' : 'lbs';
  } else {
    // OBD, photo (`vr`), `L,*` and other vendor records: kept, not interpreted.
    m.type = alarm ? 'alarm' : 'other';
    m.emitsRecord = alarm !== undefined || f.length > 3;
    if (keyword === 'vr' || keyword === 'vt') m.type = 'lbs';
  }
  if (/^acc on$/i.test(keyword) && m.ignition === undefined) m.ignition = true;
  if (/^acc off$/i.test(keyword) && m.ignition === undefined) m.ignition = false;
  return { kind: 'data', message: m, heartbeatPrefix };
}

/** `F,<hhmmss.sss UTC>,A,<lat>,N,<lon>,E,<speed kn>,<course>,<alt>,<acc>,<door>,...` */
function decodeFix(m: DecodedMessage, f: string[]): void {
  const utc = (f[5] ?? '').trim();
  m.valid = (f[6] ?? '').trim() === 'A';
  let latText = f[7] ?? '';
  let ns = f[8] ?? '';
  let lonText = f[9] ?? '';
  let ew = f[10] ?? '';
  // One firmware writes the hemisphere before the value (`A,N,5306.64155,E,00700.77848`).
  if (/^[NS]$/.test(latText.trim()) && /^\d/.test(ns)) {
    [latText, ns, lonText, ew] = [ns, latText, ew, lonText];
  }
  if (latText.trim() !== '' && /^[NS]$/.test(ns.trim())) m.lat = parseDegreesMinutes(latText, ns.trim());
  if (lonText.trim() !== '' && /^[EW]$/.test(ew.trim())) m.lon = parseDegreesMinutes(lonText, ew.trim());
  const speed = numberField(f[11]);
  if (speed !== undefined && speed >= 0) m.speedKmh = knotsToKmh(speed);
  const course = numberField(f[12]);
  if (course !== undefined && course >= 0 && course <= 360) m.course = course;
  const alt = numberField(f[13]);
  if (alt !== undefined) m.altitude = alt;
  const acc = (f[14] ?? '').trim();
  if (acc === '1' || acc === '0') m.ignition = acc === '1';
  const door = (f[15] ?? '').trim();
  if (door === '1' || door === '0') m.attributes = { ...m.attributes, door: door === '1' };
  const fixTime = fixTimeFrom(f[2] ?? '', utc);
  if (fixTime) m.fixTime = fixTime;
}

/** A plain decimal field, or undefined when empty or not a number (`0x10`, `1e3` are not). */
function numberField(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '' || !/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  return Number(t);
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
  const localMs = Date.UTC(2000 + y, mo - 1, d, hh, mi, ss);
  let utcMs = Date.UTC(2000 + y, mo - 1, d, uh, um, us);
  const half = 12 * 3600_000;
  if (utcMs - localMs > half) utcMs -= 24 * 3600_000;
  else if (localMs - utcMs > half) utcMs += 24 * 3600_000;
  return new Date(utcMs).toISOString().replace('.000Z', 'Z');
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
