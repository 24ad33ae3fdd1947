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

const KEYWORD_ALARMS: ReadonlyArray<[RegExp, AlarmName]> = [
  [/^help me/i, 'sos'],
  [/^low battery/i, 'lowBattery'],
  [/^stockade/i, 'geofence'],
  [/^move/i, 'movement'],
  [/^speed/i, 'overspeed'],
  [/^ac alarm/i, 'powerCut'],
  [/^door alarm/i, 'door'],
  [/^sensor alarm/i, 'vibration'],
  [/^accident alarm/i, 'accident'],
  [/^bonnet alarm/i, 'bonnet'],
  [/^footbrake alarm/i, 'footBrake'],
  [/^T:/, 'temperature'],
  [/^oil/i, 'fuelLeak'],
  [/^DTC/, 'fault'],
];

function base(imei: string): DecodedMessage {
  return { protocol: 'gps103', msgType: 'other', type: 'other', emitsRecord: false, alarms: [], deviceId: imei };
}

export function decodeGps103(frame: Buffer, _receivedAt: Date): Gps103Decoded {
  const text = frame.toString('latin1').trim();
  const login = /^##,imei:(\d{15}),A$/.exec(text);
  if (login) {
    const m = base(login[1] as string);
    m.type = 'login';
    m.msgType = 'login';
    return { kind: 'login', message: m, heartbeatPrefix: false };
  }
  if (/^\d{15}$/.test(text)) {
    const m = base(text);
    m.type = 'heartbeat';
    m.msgType = 'heartbeat';
    return { kind: 'heartbeat', message: m, heartbeatPrefix: false };
  }
  let body = text;
  let heartbeatPrefix = false;
  const prefixed = /^(\d{15})(imei:.*)$/s.exec(text);
  if (prefixed) {
    body = prefixed[2] as string;
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
  const alarm = KEYWORD_ALARMS.find(([re]) => re.test(keyword))?.[1];
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
  const speed = (f[11] ?? '').trim();
  if (/^\d+(\.\d+)?$/.test(speed)) m.speedKmh = knotsToKmh(Number(speed));
  const course = (f[12] ?? '').trim();
  if (/^\d+(\.\d+)?$/.test(course) && Number(course) <= 360) m.course = Number(course);
  const alt = (f[13] ?? '').trim();
  if (/^-?\d+(\.\d+)?$/.test(alt)) m.altitude = Number(alt);
  const acc = (f[14] ?? '').trim();
  if (acc === '1' || acc === '0') m.ignition = acc === '1';
  const door = (f[15] ?? '').trim();
  if (door === '1' || door === '0') m.attributes = { ...m.attributes, door: door === '1' };
  const fixTime = fixTimeFrom(f[2] ?? '', utc);
  if (fixTime) m.fixTime = fixTime;
}

/**
 * The third field is the unit's LOCAL date/time; the `F` field is the UTC time of day. Take the
 * date from the local field and move it by a day when local and UTC clock times are more than
 * 12 h apart (the unit's timezone crossed midnight), as Traccar does.
 */
export function fixTimeFrom(local: string, utc: string): string | undefined {
  const u = /^(\d{2})(\d{2})(\d{2})(?:\.\d+)?$/.exec(utc);
  if (!u) return undefined;
  const compact = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(local.trim());
  const slashed = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})$/.exec(local.trim());
  const parts = compact ?? slashed;
  if (!parts) return undefined;
  const y = Number(parts[1]);
  const mo = Number(parts[2]);
  const d = Number(parts[3]);
  const hh = Number(parts[4]);
  const mi = Number(parts[5]);
  const ss = parts[6] !== undefined ? Number(parts[6]) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  const localMs = Date.UTC(2000 + y, mo - 1, d, hh, mi, ss);
  const uh = Number(u[1]);
  const um = Number(u[2]);
  const us = Number(u[3]);
  if (uh > 23 || um > 59 || us > 59) return undefined;
  let utcMs = Date.UTC(2000 + y, mo - 1, d, uh, um, us);
  const half = 12 * 3600_000;
  if (utcMs - localMs > half) utcMs -= 24 * 3600_000;
  else if (localMs - utcMs > half) utcMs += 24 * 3600_000;
  return new Date(utcMs).toISOString().replace('.000Z', 'Z');
}
