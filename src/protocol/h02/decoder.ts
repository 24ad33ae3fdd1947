/**
 * H02 / CanTrack codec, decode side (PROTOCOLS.md 3.1-3.3). Pure: frame in, message out.
 */
import { ByteCursor } from '../cursor.js';
import { DecodeError } from '../errors.js';
import { isoFromHhmmssDdmmyy, knotsToKmh, parseDegreesMinutes, round6, utcIso } from '../geo.js';
import type { AlarmName, CellInfo, CommandReplyInfo, DecodedMessage } from '../types.js';
import {
  BINARY_IMEI_FORM_SIZE,
  BINARY_X_START,
  BIN_BATTERY,
  BIN_DATE,
  BIN_ID_BYTES,
  BIN_IMEI_ID_BYTES,
  BIN_LAT,
  BIN_LON,
  BIN_SPEED_COURSE,
  BIN_STATUS,
  BIN_TIME,
  FLAG_EAST,
  FLAG_NORTH,
  FLAG_VALID,
  POSITION_TYPES,
  STATUS_BIT_ACC_OFF,
  STATUS_BIT_OVERSPEED,
  STATUS_BIT_POWER_CUT,
  STATUS_BIT_RELAY,
  STATUS_BIT_SOS,
  STATUS_BIT_VIBRATION,
  TEXT_START,
} from './constants.js';

export interface H02Text {
  maker: string;
  deviceId: string | undefined;
  type: string;
  fields: string[];
}

const HEX8 = /^[0-9A-Fa-f]{8}$/;
const SIX_DIGITS = /^\d{6}$/;

/** Splits `*XX,id,TYPE,f1,f2,...#` without the `*` and `#`. */
export function splitText(frame: Buffer): H02Text {
  if (frame[0] !== TEXT_START) throw new DecodeError('not an H02 text frame', 0);
  const end = frame[frame.length - 1] === 0x23 ? frame.length - 1 : frame.length;
  const text = frame.toString('latin1', 1, end);
  const parts = text.split(',');
  if (parts.length < 2) throw new DecodeError('H02: no device id field');
  const maker = parts[0] as string;
  const id = (parts[1] as string).trim();
  return { maker, deviceId: id === '' ? undefined : id, type: parts[2] ?? '', fields: parts.slice(3) };
}

export function decodeH02(frame: Buffer, _receivedAt: Date): DecodedMessage {
  if (frame.length === 0) throw new DecodeError('empty frame');
  const first = frame[0];
  if (first === TEXT_START) return decodeText(frame);
  if (first === BINARY_X_START) throw new DecodeError('H02 "X" binary form is framed but not decoded', 0);
  return decodeBinary(frame);
}

function base(msgType: string, deviceId: string | undefined, format: 'text' | 'binary'): DecodedMessage {
  const m: DecodedMessage = { protocol: 'h02', msgType, type: 'other', emitsRecord: false, alarms: [], format };
  if (deviceId !== undefined) m.deviceId = deviceId;
  return m;
}

function decodeText(frame: Buffer): DecodedMessage {
  const { deviceId, type, fields } = splitText(frame);
  const m = base(type, deviceId, 'text');
  switch (type) {
    case 'V0':
      m.type = 'login';
      return m;
    case 'HTBT': {
      m.type = 'heartbeat';
      const bat = fields[0];
      if (bat !== undefined && bat !== '') {
        const n = Number(bat);
        if (!Number.isInteger(n) || n < 0 || n > 100) throw new DecodeError(`HTBT: bad battery level "${bat}"`);
        m.batteryLevel = n;
        m.emitsRecord = true;
      }
      return m;
    }
    case 'V4':
      return decodeCommandReply(m, fields);
    case 'V3':
      return decodeV3(m, fields);
    case 'NBR':
      return decodeNbr(m, fields);
    case 'LINK':
      return decodeLink(m, fields);
    case 'SMS': {
      const text = frame.toString('latin1', frame.indexOf(',SMS,') + 5, frame.length - 1);
      m.emitsRecord = true;
      m.reply = text;
      m.commandReply = { text, result: 'unknown' };
      return m;
    }
    case 'VP1':
      return decodeVp1(m, fields);
    default:
      if (POSITION_TYPES.has(type)) return decodePositionFields(m, fields, 0);
      return m;
  }
}

/**
 * The V1 layout from index `at`: HHMMSS, validity, lat, N/S, lon, E/W, speed, course, [battery],
 * DDMMYY, status, extras. Returns the index after the status word (or -1 when absent).
 */
function decodePositionFields(m: DecodedMessage, f: string[], at: number): DecodedMessage {
  const time = f[at] ?? '';
  const validity = (f[at + 1] ?? '').trim();
  const latText = f[at + 2] ?? '';
  const lonText = f[at + 4] ?? '';
  // Empty coordinates, or zeros with `0` for hemispheres (`V1,000000,V,0.0000,0,0.0000,0,...`),
  // are a no-fix report.
  const zeroFix = /^0+(\.0+)?$/.test(latText.trim()) && /^0+(\.0+)?$/.test(lonText.trim()) && !/^[NS]$/i.test((f[at + 3] ?? '').trim());
  if (latText.trim() === '' || lonText.trim() === '' || zeroFix) {
    // A no-fix report: status and cell only. Not a position (Traccar emits nothing for it).
    m.type = 'other';
    m.emitsRecord = false;
    applyStatus(m, findStatus(f, at + 1));
    return m;
  }
  m.type = 'position';
  m.emitsRecord = true;
  m.valid = validity !== 'V' && validity !== '';
  m.lat = parseDegreesMinutes(latText, hemisphere(f[at + 3], 'NS', 'latitude'));
  m.lon = parseDegreesMinutes(lonText, hemisphere(f[at + 5], 'EW', 'longitude'));
  if (Math.abs(m.lat) > 90 || Math.abs(m.lon) > 180) throw new DecodeError(`${m.msgType}: coordinates out of range`);
  const speed = parseNumber(f[at + 6], 'speed', m.msgType);
  if (speed !== undefined) m.speedKmh = knotsToKmh(speed);
  const course = parseNumber(f[at + 7], 'course', m.msgType);
  if (course !== undefined) m.course = course;
  // Some firmwares insert a battery field before the date (`...,047,4,080918,...`).
  let dateAt = at + 8;
  if (!SIX_DIGITS.test(f[dateAt] ?? '') && SIX_DIGITS.test(f[dateAt + 1] ?? '')) dateAt++;
  const date = f[dateAt] ?? '';
  if (SIX_DIGITS.test(date) && /^\d{6}(\.\d+)?$/.test(time)) m.fixTime = isoFromHhmmssDdmmyy(time, date);
  else if (date !== '' && !SIX_DIGITS.test(date)) throw new DecodeError(`${m.msgType}: bad date "${date}"`);
  const statusAt = findStatus(f, dateAt + 1);
  applyStatus(m, statusAt);
  if (statusAt !== undefined) decodeCellExtras(m, f, statusAt.index + 1);
  return m;
}

interface StatusField {
  index: number;
  value: number;
  hex: string;
}

/** The status word right after the date, or (V19 puts IP and ICCID first) the last 8-hex field. */
function findStatus(f: string[], from: number): StatusField | undefined {
  const direct = f[from];
  if (direct !== undefined && HEX8.test(direct)) return { index: from, value: parseInt(direct, 16) >>> 0, hex: direct.toUpperCase() };
  for (let i = f.length - 1; i > from; i--) {
    const v = f[i] as string;
    if (HEX8.test(v)) return { index: i, value: parseInt(v, 16) >>> 0, hex: v.toUpperCase() };
  }
  return undefined;
}

function bitSet(word: number, bit: number): boolean {
  return ((word >>> bit) & 1) === 1;
}

/** Status word (3.3), negative logic: 0 = active. */
export function statusAlarms(word: number): AlarmName[] {
  const alarms: AlarmName[] = [];
  if (!bitSet(word, STATUS_BIT_VIBRATION)) alarms.push('vibration');
  if (!bitSet(word, STATUS_BIT_SOS)) alarms.push('sos');
  if (!bitSet(word, STATUS_BIT_OVERSPEED)) alarms.push('overspeed');
  if (!bitSet(word, STATUS_BIT_POWER_CUT)) alarms.push('powerCut');
  return alarms;
}

function applyStatus(m: DecodedMessage, status: StatusField | undefined): void {
  if (!status) return;
  m.statusHex = status.hex;
  m.ignition = bitSet(status.value, STATUS_BIT_ACC_OFF);
  m.relay = bitSet(status.value, STATUS_BIT_RELAY) ? 'normal' : 'cut';
  m.alarms = statusAlarms(status.value);
}

function decodeCellExtras(m: DecodedMessage, f: string[], at: number): void {
  const [mcc, mnc, lac, cid] = [f[at], f[at + 1], f[at + 2], f[at + 3]].map((s) => s?.trim());
  if (!mcc || !mnc || !lac || !cid) return;
  if (!/^\d{3}$/.test(mcc) || !/^\d{1,3}$/.test(mnc) || !/^[0-9a-fA-F]{1,8}$/.test(lac) || !/^[0-9a-fA-F]{1,8}$/.test(cid)) return;
  m.cell = { mcc: Number(mcc), mnc: Number(mnc), lac: parseInt(lac, 16), cid: parseInt(cid, 16) };
}

function hemisphere(value: string | undefined, allowed: 'NS' | 'EW', what: string): string {
  const v = (value ?? '').trim().toUpperCase();
  if (v.length !== 1 || !allowed.includes(v)) throw new DecodeError(`bad ${what} hemisphere "${value ?? ''}"`);
  return v;
}

function parseNumber(value: string | undefined, what: string, msgType: string): number | undefined {
  const v = (value ?? '').trim();
  if (v === '') return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw new DecodeError(`${msgType}: bad ${what} "${value}"`);
  return Number(v);
}

/**
 * V4: `<cmd>,<echo fields...>,<cmd HHMMSS>,<device HHMMSS>,S,lat,...` or the short 4G echo
 * `<cmd>,<HHMMSS>,<params>` without a position (traccar#5417).
 */
function decodeCommandReply(m: DecodedMessage, f: string[]): DecodedMessage {
  m.type = 'command_reply';
  m.emitsRecord = true;
  const command = (f[0] ?? '').trim();
  if (command === '') throw new DecodeError('V4: no command code');
  const reply: CommandReplyInfo = { command };
  let positionAt = -1;
  for (let i = 2; i + 5 < f.length; i++) {
    if (SIX_DIGITS.test(f[i] ?? '') && /^[AVB0-9]?$/.test((f[i + 1] ?? '').trim()) && /^[NSns]$/.test((f[i + 3] ?? '').trim())) {
      positionAt = i;
      break;
    }
  }
  if (positionAt >= 0) {
    reply.commandTime = f[positionAt - 1];
    reply.echoFields = f.slice(1, positionAt - 1);
    decodePositionFields(m, f, positionAt);
    m.type = 'command_reply';
    m.emitsRecord = true;
  } else {
    const timeAt = f.findIndex((v, i) => i > 0 && SIX_DIGITS.test(v));
    if (timeAt > 0) {
      reply.commandTime = f[timeAt];
      reply.echoFields = [...f.slice(1, timeAt), ...f.slice(timeAt + 1)];
    } else {
      reply.echoFields = f.slice(1);
    }
  }
  const words = (reply.echoFields ?? []).map((w) => w.toUpperCase());
  reply.result = words.includes('DONE') || words.includes('OK') ? 'success' : words.includes('ERROR') || words.includes('FAIL') ? 'failure' : 'unknown';
  m.commandReply = reply;
  return m;
}

/** V3 LBS: `HHMMSS,<mcc><mnc>,count,(lac,cid,signal,)*,<battery hex>,<reboots>,X,DDMMYY,status`. */
function decodeV3(m: DecodedMessage, f: string[]): DecodedMessage {
  m.type = 'lbs';
  m.emitsRecord = true;
  const mccMnc = (f[1] ?? '').trim();
  if (!/^\d{4,6}$/.test(mccMnc)) throw new DecodeError(`V3: bad MCC/MNC "${mccMnc}"`);
  const lac = (f[3] ?? '').trim();
  const cid = (f[4] ?? '').trim();
  if (/^\d+$/.test(lac) && /^\d+$/.test(cid)) {
    m.cell = { mcc: Number(mccMnc.slice(0, 3)), mnc: Number(mccMnc.slice(3)), lac: Number(lac), cid: Number(cid) };
  }
  const statusAt = f.length - 1;
  const date = f[statusAt - 1] ?? '';
  const time = f[0] ?? '';
  if (SIX_DIGITS.test(date) && SIX_DIGITS.test(time)) m.fixTime = isoFromHhmmssDdmmyy(time, date);
  applyStatus(m, findStatus(f, statusAt));
  return m;
}

/** NBR: `HHMMSS,mcc,mnc,delay,count,(lac,cid,rssi)*,DDMMYY,status[,battery]`. */
function decodeNbr(m: DecodedMessage, f: string[]): DecodedMessage {
  m.type = 'lbs';
  m.emitsRecord = true;
  const mcc = Number((f[1] ?? '').trim());
  const mnc = Number((f[2] ?? '').trim());
  const count = Number((f[4] ?? '').trim());
  if (!Number.isInteger(mcc) || !Number.isInteger(mnc) || !Number.isInteger(count) || count < 0 || count > 16) {
    throw new DecodeError('NBR: bad cell header');
  }
  const lac = Number(f[5]);
  const cid = Number(f[6]);
  if (count > 0 && Number.isInteger(lac) && Number.isInteger(cid)) m.cell = { mcc, mnc, lac, cid } satisfies CellInfo;
  const dateAt = 5 + count * 3;
  const date = f[dateAt] ?? '';
  const time = f[0] ?? '';
  if (SIX_DIGITS.test(date) && SIX_DIGITS.test(time)) m.fixTime = isoFromHhmmssDdmmyy(time, date);
  applyStatus(m, findStatus(f, dateAt + 1));
  return m;
}

/** LINK: `HHMMSS,rssi,satellites,battery%,steps,turnovers,DDMMYY,status`. */
function decodeLink(m: DecodedMessage, f: string[]): DecodedMessage {
  m.type = 'other';
  m.emitsRecord = true;
  const gsm = parseNumber(f[1], 'rssi', 'LINK');
  const sats = parseNumber(f[2], 'satellites', 'LINK');
  const battery = parseNumber(f[3], 'battery', 'LINK');
  if (gsm !== undefined) m.attributes = { rssi: gsm };
  if (sats !== undefined) m.satellites = sats;
  if (battery !== undefined && battery >= 0 && battery <= 100) m.batteryLevel = battery;
  applyStatus(m, findStatus(f, 7));
  return m;
}

/** VP1: position without time (`A,lat,S,lon,E,speed,course,DDMMYY`) or an LBS variant. */
function decodeVp1(m: DecodedMessage, f: string[]): DecodedMessage {
  const validity = (f[0] ?? '').trim();
  const ns = (f[2] ?? '').trim();
  if ((validity === 'A' || validity === 'V') && (ns === 'N' || ns === 'S') && /^\d/.test(f[1] ?? '')) {
    m.type = 'position';
    m.emitsRecord = true;
    m.valid = validity === 'A';
    m.lat = parseDegreesMinutes(f[1] as string, ns);
    m.lon = parseDegreesMinutes(f[3] ?? '', hemisphere(f[4], 'EW', 'longitude'));
    const speed = parseNumber(f[5], 'speed', 'VP1');
    if (speed !== undefined) m.speedKmh = knotsToKmh(speed);
    const course = parseNumber(f[6], 'course', 'VP1');
    if (course !== undefined) m.course = course;
    return m;
  }
  m.type = 'other';
  m.emitsRecord = true;
  return m;
}

function decodeBinary(frame: Buffer): DecodedMessage {
  const imeiForm = frame.length === BINARY_IMEI_FORM_SIZE;
  const c = new ByteCursor(frame, 1);
  const idDigits = c.bcd(imeiForm ? BIN_IMEI_ID_BYTES : BIN_ID_BYTES, 'device id');
  const deviceId = imeiForm ? idDigits.slice(0, 15) : idDigits;
  const m = base('binary', deviceId, 'binary');
  const idEnd = c.offset;
  const at = (rel: number) => new ByteCursor(frame, idEnd + rel);

  const t = at(BIN_TIME);
  const hh = t.bcdByte('hour');
  const mi = t.bcdByte('minute');
  const ss = t.bcdByte('second');
  const d = at(BIN_DATE);
  const day = d.bcdByte('day');
  const month = d.bcdByte('month');
  const year = d.bcdByte('year');

  const lat = at(BIN_LAT).bcd(4, 'latitude'); // DD MM mmmm
  const battery = at(BIN_BATTERY).u8('battery');
  const lonCursor = at(BIN_LON);
  const lonDigits = lonCursor.bcd(4, 'longitude');
  const lonLast = lonCursor.u8('longitude flags');
  if (lonLast >> 4 > 9) throw new DecodeError('invalid BCD digit in longitude', idEnd + BIN_LON + 4);
  const lonText = lonDigits + String(lonLast >> 4); // DDD MM mmmm
  const flags = lonLast & 0x0f;

  const sc = at(BIN_SPEED_COURSE).bytes(3, 'speed/course');
  const nib = (i: number) => {
    const byte = sc[i >> 1] as number;
    const v = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    if (v > 9) throw new DecodeError('invalid BCD digit in speed/course', idEnd + BIN_SPEED_COURSE + (i >> 1));
    return v;
  };
  const knots = nib(0) * 100 + nib(1) * 10 + nib(2);
  const course = nib(3) * 100 + nib(4) * 10 + nib(5);
  const status = at(BIN_STATUS).u32('status');

  m.type = 'position';
  m.emitsRecord = true;
  m.fixTime = utcIso(year, month, day, hh, mi, ss);
  m.valid = (flags & FLAG_VALID) !== 0;
  const latValue = Number(lat.slice(0, 2)) + Number(`${lat.slice(2, 4)}.${lat.slice(4)}`) / 60;
  const lonValue = Number(lonText.slice(0, 3)) + Number(`${lonText.slice(3, 5)}.${lonText.slice(5)}`) / 60;
  if (latValue > 90 || lonValue > 180) throw new DecodeError('binary: coordinates out of range', idEnd + BIN_LAT);
  m.lat = round6((flags & FLAG_NORTH) !== 0 ? latValue : -latValue);
  m.lon = round6((flags & FLAG_EAST) !== 0 ? lonValue : -lonValue);
  m.speedKmh = knotsToKmh(knots);
  m.course = course;
  // Battery byte: 1..6 steps, <= 100 percent, 0xF1..0xF6 steps (3.2); only percent maps to batteryLevel.
  if (battery > 6 && battery <= 100) m.batteryLevel = battery;
  else if (battery > 0) m.attributes = { batteryStep: battery >= 0xf1 ? battery - 0xf0 : battery };
  applyStatus(m, { index: 0, value: status >>> 0, hex: status.toString(16).toUpperCase().padStart(8, '0') });
  return m;
}
