/**
 * H02 / CanTrack codec, decode side (PROTOCOLS.md 3.1-3.3). Pure: frame in, message out.
 */
import { DecodeError } from '../errors.js';
import { TextFields } from '../cursor.js';
import { allDigits, digits2, isHhmmss, isoFromHhmmssDdmmyy, isSixDigits, knotsToKmh, PAD2, parseDecimal, parseDegreesMinutes, parseDegreesMinutesIn, round6, trimEnd, trimStart, utcIso } from '../geo.js';
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

const SIX_DIGITS = /^\d{6}$/;

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

/** Scratch field offsets for the frame being decoded (decoding is synchronous and never nested). */
const FIELDS = new TextFields();

function decodeText(frame: Buffer): DecodedMessage {
  const end = frame[frame.length - 1] === 0x23 ? frame.length - 1 : frame.length;
  const F = FIELDS.reset(frame.toString('latin1', 1, end));
  if (F.count < 2) throw new DecodeError('H02: no device id field');
  const text = F.text;
  const idStart = trimStart(text, F.start(1), F.end(1));
  const idEnd = trimEnd(text, idStart, F.end(1));
  const deviceId = idStart === idEnd ? undefined : text.slice(idStart, idEnd);
  const type = F.get(2) ?? '';
  const m = base(type, deviceId, 'text');
  // The position layouts are read in place; the rarer messages get their fields as strings.
  if (POSITION_TYPES.has(type)) return decodePositionFields(m, F, 3);
  if (type === 'V4') return decodeCommandReply(m, F);
  if (type === 'V3') return decodeV3(m, F);
  const fields = F.slice(3);
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
      return m;
  }
}

/** `^0+(\.0+)?$` once trimmed: the zero coordinates of a no-fix report. */
function isZeroText(F: TextFields, field: number): boolean {
  const s = F.text;
  const a = trimStart(s, F.start(field), F.end(field));
  const b = trimEnd(s, a, F.end(field));
  let i = a;
  while (i < b && s.charCodeAt(i) === 0x30) i++;
  if (i === a) return false;
  if (i === b) return true;
  if (s.charCodeAt(i) !== 0x2e) return false;
  const fraction = ++i;
  while (i < b && s.charCodeAt(i) === 0x30) i++;
  return i === b && i > fraction;
}

/**
 * The V1 layout from field `at`: HHMMSS, validity, lat, N/S, lon, E/W, speed, course, [battery],
 * DDMMYY, status, extras.
 */
function decodePositionFields(m: DecodedMessage, F: TextFields, at: number): DecodedMessage {
  const text = F.text;
  // Empty coordinates, or zeros with `0` for hemispheres (`V1,000000,V,0.0000,0,0.0000,0,...`),
  // are a no-fix report.
  const ns = F.trimmedChar(at + 3) | 0x20;
  if (F.isBlank(at + 2) || F.isBlank(at + 4) || (isZeroText(F, at + 2) && isZeroText(F, at + 4) && ns !== 0x6e && ns !== 0x73)) {
    // A no-fix report: status and cell only. Not a position (Traccar emits nothing for it).
    m.type = 'other';
    m.emitsRecord = false;
    applyStatus(m, findStatusIn(F, at + 1));
    return m;
  }
  m.type = 'position';
  m.emitsRecord = true;
  const va = trimStart(text, F.start(at + 1), F.end(at + 1));
  const vb = trimEnd(text, va, F.end(at + 1));
  m.valid = vb > va && !(vb - va === 1 && text.charCodeAt(va) === 0x56);
  m.lat = parseDegreesMinutesIn(text, F.start(at + 2), F.end(at + 2), hemisphereIn(F, at + 3, 'NS', 'latitude'));
  m.lon = parseDegreesMinutesIn(text, F.start(at + 4), F.end(at + 4), hemisphereIn(F, at + 5, 'EW', 'longitude'));
  if (Math.abs(m.lat) > 90 || Math.abs(m.lon) > 180) throw new DecodeError(`${m.msgType}: coordinates out of range`);
  const speed = parseNumberIn(F, at + 6, 'speed', m.msgType);
  if (speed !== undefined) m.speedKmh = knotsToKmh(speed);
  const course = parseNumberIn(F, at + 7, 'course', m.msgType);
  if (course !== undefined) m.course = course;
  // Some firmwares insert a battery field before the date (`...,047,4,080918,...`).
  let dateAt = at + 8;
  if (!isSixDigits(text, F.start(dateAt), F.end(dateAt)) && isSixDigits(text, F.start(dateAt + 1), F.end(dateAt + 1))) dateAt++;
  const date = F.start(dateAt);
  const sixDigitDate = isSixDigits(text, date, F.end(dateAt));
  const time = F.start(at);
  if (sixDigitDate && isHhmmss(text, time, F.end(at))) {
    m.fixTime = utcIso(digits2(text, date + 4), digits2(text, date + 2), digits2(text, date), digits2(text, time), digits2(text, time + 2), digits2(text, time + 4));
  } else if (F.end(dateAt) > date && !sixDigitDate) throw new DecodeError(`${m.msgType}: bad date "${F.get(dateAt) ?? ''}"`);
  const statusAt = findStatusIn(F, dateAt + 1);
  applyStatus(m, statusAt);
  if (statusAt !== undefined) decodeCellExtras(m, F, statusAt.index + 1);
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
  if (direct !== undefined && isHex8(direct, 0, direct.length)) return statusField(from, direct);
  for (let i = f.length - 1; i > from; i--) {
    const v = f[i] as string;
    if (isHex8(v, 0, v.length)) return statusField(i, v);
  }
  return undefined;
}

/** findStatus over fields read in place. */
function findStatusIn(F: TextFields, from: number): StatusField | undefined {
  if (from < F.count && isHex8(F.text, F.start(from), F.end(from))) return statusField(from, F.get(from) as string);
  for (let i = F.count - 1; i > from; i--) {
    if (isHex8(F.text, F.start(i), F.end(i))) return statusField(i, F.get(i) as string);
  }
  return undefined;
}

function statusField(index: number, hex: string): StatusField {
  let upper = hex;
  for (let i = 0; i < hex.length; i++) {
    if (hex.charCodeAt(i) >= 0x61) {
      upper = hex.toUpperCase();
      break;
    }
  }
  return { index, value: hexValue(hex, 0, hex.length, 8), hex: upper };
}

/** `^[0-9A-Fa-f]{8}$` */
function isHex8(s: string, from: number, to: number): boolean {
  return to - from === 8 && hexValue(s, from, to, 8) >= 0;
}

/** `s[from..to)` as 1 to `maxDigits` hex digits, or -1 (`^[0-9A-Fa-f]{1,n}$`). */
function hexValue(s: string, from: number, to: number, maxDigits: number): number {
  if (to <= from || to - from > maxDigits) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else return -1;
    v = v * 16 + d;
  }
  return v;
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

/** MCC (3 digits), MNC (1-3 digits), LAC and CID (1-8 hex digits each), each may be padded. */
function decodeCellExtras(m: DecodedMessage, F: TextFields, at: number): void {
  if (at + 3 >= F.count) return;
  const s = F.text;
  const mccA = trimStart(s, F.start(at), F.end(at));
  const mccB = trimEnd(s, mccA, F.end(at));
  const mncA = trimStart(s, F.start(at + 1), F.end(at + 1));
  const mncB = trimEnd(s, mncA, F.end(at + 1));
  if (mccB - mccA !== 3 || !allDigits(s, mccA, mccB) || mncB - mncA > 3 || !allDigits(s, mncA, mncB)) return;
  const lacA = trimStart(s, F.start(at + 2), F.end(at + 2));
  const lacValue = hexValue(s, lacA, trimEnd(s, lacA, F.end(at + 2)), 8);
  const cidA = trimStart(s, F.start(at + 3), F.end(at + 3));
  const cidValue = hexValue(s, cidA, trimEnd(s, cidA, F.end(at + 3)), 8);
  if (lacValue < 0 || cidValue < 0) return;
  m.cell = { mcc: parseDecimal(s, mccA, mccB, false), mnc: parseDecimal(s, mncA, mncB, false), lac: lacValue, cid: cidValue };
}

/** The trimmed hemisphere letter in upper case, or a DecodeError. */
function hemisphere(value: string | undefined, allowed: 'NS' | 'EW', what: string): string {
  const v = value ?? '';
  const a = trimStart(v);
  const letter = trimEnd(v, a) - a === 1 ? hemisphereLetter(v.charCodeAt(a), allowed) : undefined;
  if (letter === undefined) throw new DecodeError(`bad ${what} hemisphere "${v}"`);
  return letter;
}

function hemisphereIn(F: TextFields, i: number, allowed: 'NS' | 'EW', what: string): string {
  const c = F.trimmedChar(i);
  const letter = c < 0 ? undefined : hemisphereLetter(c, allowed);
  if (letter === undefined) throw new DecodeError(`bad ${what} hemisphere "${F.get(i) ?? ''}"`);
  return letter;
}

function hemisphereLetter(code: number, allowed: 'NS' | 'EW'): string | undefined {
  const c = code | 0x20;
  if (allowed === 'NS') return c === 0x6e ? 'N' : c === 0x73 ? 'S' : undefined;
  return c === 0x65 ? 'E' : c === 0x77 ? 'W' : undefined;
}

/** A trimmed `-?\d+(\.\d+)?` field; undefined when blank. */
function parseNumber(value: string | undefined, what: string, msgType: string): number | undefined {
  const v = value ?? '';
  const a = trimStart(v);
  const b = trimEnd(v, a);
  if (a === b) return undefined;
  const n = parseDecimal(v, a, b, true);
  if (Number.isNaN(n)) throw new DecodeError(`${msgType}: bad ${what} "${value}"`);
  return n;
}

function parseNumberIn(F: TextFields, i: number, what: string, msgType: string): number | undefined {
  const a = trimStart(F.text, F.start(i), F.end(i));
  const b = trimEnd(F.text, a, F.end(i));
  if (a === b) return undefined;
  const n = parseDecimal(F.text, a, b, true);
  if (Number.isNaN(n)) throw new DecodeError(`${msgType}: bad ${what} "${F.get(i)}"`);
  return n;
}

/**
 * V4: `<cmd>,<echo fields...>,<cmd HHMMSS>,<device HHMMSS>,S,lat,...` or the short 4G echo
 * `<cmd>,<HHMMSS>,<params>` without a position (traccar#5417).
 */
function decodeCommandReply(m: DecodedMessage, F: TextFields): DecodedMessage {
  m.type = 'command_reply';
  m.emitsRecord = true;
  const command = (F.get(3) ?? '').trim();
  if (command === '') throw new DecodeError('V4: no command code');
  const reply: CommandReplyInfo = { command };
  // Indices below are into the fields after the type (`f`), which start at field 3.
  const text = F.text;
  const n = F.count - 3;
  let positionAt = -1;
  for (let i = 2; i + 5 < n; i++) {
    const k = i + 3;
    if (!isSixDigits(text, F.start(k), F.end(k))) continue;
    const va = trimStart(text, F.start(k + 1), F.end(k + 1));
    const vLength = trimEnd(text, va, F.end(k + 1)) - va;
    const v = text.charCodeAt(va);
    const validity = vLength === 0 || (vLength === 1 && (v === 0x41 || v === 0x56 || v === 0x42 || (v >= 0x30 && v <= 0x39))); // A V B 0-9
    const ns = F.trimmedChar(k + 3);
    if (validity && (ns === 0x4e || ns === 0x53 || ns === 0x6e || ns === 0x73)) {
      positionAt = i;
      break;
    }
  }
  if (positionAt >= 0) {
    reply.commandTime = F.get(positionAt + 2);
    reply.echoFields = F.slice(4, positionAt + 2);
    decodePositionFields(m, F, positionAt + 3);
    m.type = 'command_reply';
    m.emitsRecord = true;
  } else {
    const f = F.slice(3);
    const timeAt = f.findIndex((v, i) => i > 0 && isSixDigits(v));
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

/** V3 LBS: `HHMMSS,<mcc><mnc>,count,(lac,cid,signal,)*,<battery hex>,<reboots>,X,DDMMYY,status` (from field 3). */
function decodeV3(m: DecodedMessage, F: TextFields): DecodedMessage {
  m.type = 'lbs';
  m.emitsRecord = true;
  const text = F.text;
  const a = trimStart(text, F.start(4), F.end(4));
  const b = trimEnd(text, a, F.end(4));
  if (b - a < 4 || b - a > 6 || !allDigits(text, a, b)) throw new DecodeError(`V3: bad MCC/MNC "${text.slice(a, b)}"`);
  const lacA = trimStart(text, F.start(6), F.end(6));
  const lacB = trimEnd(text, lacA, F.end(6));
  const cidA = trimStart(text, F.start(7), F.end(7));
  const cidB = trimEnd(text, cidA, F.end(7));
  if (allDigits(text, lacA, lacB) && allDigits(text, cidA, cidB)) {
    m.cell = { mcc: parseDecimal(text, a, a + 3, false), mnc: parseDecimal(text, a + 3, b, false), lac: parseDecimal(text, lacA, lacB, false), cid: parseDecimal(text, cidA, cidB, false) };
  }
  // The date is the field before the last, the status word the last one.
  const last = F.count - 1;
  if (last - 1 >= 3 && isSixDigits(text, F.start(last - 1), F.end(last - 1)) && isSixDigits(text, F.start(3), F.end(3))) {
    const date = F.start(last - 1);
    const time = F.start(3);
    m.fixTime = utcIso(digits2(text, date + 4), digits2(text, date + 2), digits2(text, date), digits2(text, time), digits2(text, time + 2), digits2(text, time + 4));
  }
  applyStatus(m, last >= 3 ? findStatusIn(F, last) : undefined);
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

/**
 * Binary position (3.2). Fields are read in wire order with the same bounds and BCD checks (and
 * offsets in the errors) as a ByteCursor walk, without a cursor or a digit string per field.
 */
function decodeBinary(frame: Buffer): DecodedMessage {
  const imeiForm = frame.length === BINARY_IMEI_FORM_SIZE;
  const idBytes = imeiForm ? BIN_IMEI_ID_BYTES : BIN_ID_BYTES;
  need(frame, 1, idBytes, 'device id');
  let idDigits = '';
  for (let i = 1; i <= idBytes; i++) {
    const byte = frame[i] as number;
    if (byte >> 4 > 9 || (byte & 0x0f) > 9) throw new DecodeError('invalid BCD digit in device id', 1);
    idDigits += PAD2[(byte >> 4) * 10 + (byte & 0x0f)] as string;
  }
  const deviceId = imeiForm ? idDigits.slice(0, 15) : idDigits;
  const m = base('binary', deviceId, 'binary');
  const idEnd = 1 + idBytes;

  const hh = bcdByteAt(frame, idEnd + BIN_TIME, 'hour');
  const mi = bcdByteAt(frame, idEnd + BIN_TIME + 1, 'minute');
  const ss = bcdByteAt(frame, idEnd + BIN_TIME + 2, 'second');
  const day = bcdByteAt(frame, idEnd + BIN_DATE, 'day');
  const month = bcdByteAt(frame, idEnd + BIN_DATE + 1, 'month');
  const year = bcdByteAt(frame, idEnd + BIN_DATE + 2, 'year');

  // DD MM mmmm
  const latAt = idEnd + BIN_LAT;
  need(frame, latAt, 4, 'latitude');
  const latDegrees = bcdPair(frame, latAt, latAt, 'latitude');
  const latMinutes = bcdPair(frame, latAt + 1, latAt, 'latitude') * 10_000 + bcdPair(frame, latAt + 2, latAt, 'latitude') * 100 + bcdPair(frame, latAt + 3, latAt, 'latitude');
  const batteryAt = idEnd + BIN_BATTERY;
  need(frame, batteryAt, 1, 'battery');
  const battery = frame[batteryAt] as number;
  // DDD MM mmmm: 4 BCD bytes, then the last digit in the high nibble of the flags byte
  const lonAt = idEnd + BIN_LON;
  need(frame, lonAt, 4, 'longitude');
  const lon0 = bcdPair(frame, lonAt, lonAt, 'longitude');
  const lon1 = bcdPair(frame, lonAt + 1, lonAt, 'longitude');
  const lon2 = bcdPair(frame, lonAt + 2, lonAt, 'longitude');
  const lon3 = bcdPair(frame, lonAt + 3, lonAt, 'longitude');
  need(frame, lonAt + 4, 1, 'longitude flags');
  const lonLast = frame[lonAt + 4] as number;
  if (lonLast >> 4 > 9) throw new DecodeError('invalid BCD digit in longitude', lonAt + 4);
  const lonDegrees = lon0 * 10 + ((lon1 / 10) | 0);
  const lonMinutes = (lon1 % 10) * 100_000 + lon2 * 1000 + lon3 * 10 + (lonLast >> 4);
  const flags = lonLast & 0x0f;

  const scAt = idEnd + BIN_SPEED_COURSE;
  need(frame, scAt, 3, 'speed/course');
  const knots = nibble(frame, scAt, 0) * 100 + nibble(frame, scAt, 1) * 10 + nibble(frame, scAt, 2);
  const course = nibble(frame, scAt, 3) * 100 + nibble(frame, scAt, 4) * 10 + nibble(frame, scAt, 5);
  const statusAt = idEnd + BIN_STATUS;
  need(frame, statusAt, 4, 'status');
  const status = frame.readUInt32BE(statusAt);

  m.type = 'position';
  m.emitsRecord = true;
  m.fixTime = utcIso(year, month, day, hh, mi, ss);
  m.valid = (flags & FLAG_VALID) !== 0;
  // MM.mmmm as 6 digits / 1e4 is the double Number("MM.mmmm") gives (both exact, one rounding).
  const latValue = latDegrees + latMinutes / 10_000 / 60;
  const lonValue = lonDegrees + lonMinutes / 10_000 / 60;
  if (latValue > 90 || lonValue > 180) throw new DecodeError('binary: coordinates out of range', latAt);
  m.lat = round6((flags & FLAG_NORTH) !== 0 ? latValue : -latValue);
  m.lon = round6((flags & FLAG_EAST) !== 0 ? lonValue : -lonValue);
  m.speedKmh = knotsToKmh(knots);
  m.course = course;
  // Battery byte: 1..6 steps, <= 100 percent, 0xF1..0xF6 steps (3.2); only percent maps to batteryLevel.
  if (battery > 6 && battery <= 100) m.batteryLevel = battery;
  else if (battery > 0) m.attributes = { batteryStep: battery >= 0xf1 ? battery - 0xf0 : battery };
  applyStatus(m, { index: 0, value: status, hex: status.toString(16).toUpperCase().padStart(8, '0') });
  return m;
}

/** The bounds check of a cursor read of `n` bytes at `at`. */
function need(frame: Buffer, at: number, n: number, what: string): void {
  if (at + n > frame.length) throw new DecodeError(`truncated: need ${n} byte(s) for ${what}, have ${frame.length - at}`, at);
}

function bcdByteAt(frame: Buffer, at: number, what: string): number {
  need(frame, at, 1, what);
  return bcdPair(frame, at, at, what);
}

/** One BCD byte as 0..99; a bad digit is reported at the start of its field (`fieldAt`). */
function bcdPair(frame: Buffer, at: number, fieldAt: number, what: string): number {
  const byte = frame[at] as number;
  const hi = byte >> 4;
  const lo = byte & 0x0f;
  if (hi > 9 || lo > 9) throw new DecodeError(`invalid BCD digit in ${what}`, fieldAt);
  return hi * 10 + lo;
}

/** BCD digit `i` (high nibble first) of the 3-byte speed/course field. */
function nibble(frame: Buffer, at: number, i: number): number {
  const byte = frame[at + (i >> 1)] as number;
  const v = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
  if (v > 9) throw new DecodeError('invalid BCD digit in speed/course', at + (i >> 1));
  return v;
}
