/**
 * TK103 codec (PROTOCOLS.md section 5): `(` + id + 4-character command + body + `)`, in the
 * fixed-width form (`(027043594183BR00...)`) and the comma form of IMEI firmwares
 * (`(864768010009188,BP05,...)`). No checksum. Pure.
 */
import { DecodeError } from '../errors.js';
import { allDigits, digits2, isoFromHhmmssDdmmyy, parseDecimal, parseDegreesMinutes, parseDegreesMinutesIn, round2, trimEnd, trimStart, utcIso } from '../geo.js';
import type { AlarmName, DecodedMessage } from '../types.js';

export interface Tk103Parts {
  id: string;
  command: string;
  body: string;
  commaForm: boolean;
}

/** Where a frame's id, command and body are in its text (without the parentheses). */
interface Head {
  text: string;
  id: string;
  command: string;
  bodyAt: number;
  commaForm: boolean;
}

const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isDigitOrUpper = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a);

/** A 4-character command (`[A-Z]{2}[0-9A-Z]{2}`) at `at`. */
function isCommand(text: string, at: number): boolean {
  return isUpper(text.charCodeAt(at)) && isUpper(text.charCodeAt(at + 1)) && isDigitOrUpper(text.charCodeAt(at + 2)) && isDigitOrUpper(text.charCodeAt(at + 3));
}

/**
 * Comma form first: an 11-15 character id, `,`, the command, an optional `,`. Otherwise the fixed
 * form: the shortest 11-15 character id that a command follows (ids may end in letters or
 * digits, `BALLESTEROS3BR00`, `027043594183BR00`).
 */
function locateHead(frame: Buffer): Head {
  if (frame[0] !== 0x28 || frame[frame.length - 1] !== 0x29) throw new DecodeError('not a TK103 frame', 0);
  const text = frame.toString('latin1', 1, frame.length - 1);
  let run = 0;
  while (run < 16 && isAlnum(text.charCodeAt(run))) run++;
  if (run >= 11 && run <= 15 && text.charCodeAt(run) === 0x2c && isCommand(text, run + 1)) {
    const bodyAt = run + 5 + (text.charCodeAt(run + 5) === 0x2c ? 1 : 0);
    return { text, id: text.slice(0, run), command: text.slice(run + 1, run + 5), bodyAt, commaForm: true };
  }
  for (let idLength = 11; idLength <= 15 && idLength <= run; idLength++) {
    if (isCommand(text, idLength)) return { text, id: text.slice(0, idLength), command: text.slice(idLength, idLength + 4), bodyAt: idLength + 4, commaForm: false };
  }
  throw new DecodeError('TK103: no device id and command');
}

export function splitTk103(frame: Buffer): Tk103Parts {
  const head = locateHead(frame);
  return { id: head.id, command: head.command, body: head.text.slice(head.bodyAt), commaForm: head.commaForm };
}

/**
 * Fixed-width GPS block: YYMMDD, A|V, lat, N|S, lon, E|W, speed (5), HHMMSS, course (6), I/O (8),
 * `L` + odometer. Degree digits are not always zero-padded (`S4817.8731W`), hence the regex.
 */

/** Comma GPS block: DDMMYY, A|V, DDMM.MMMM N, DDDMM.MMMM E, speed, HHMMSS, course[, I/O, Lodometer]. */
const COMMA_GPS = /^(\d{6}),([AV]),(\d+\.\d+)([NS]),(\d+\.\d+)([EW]),([\d.]+),(\d{6}),([\d.]+)(?:,([0-9A-Fa-f]{8}))?/;

const ALARM_CODES: Record<string, AlarmName> = {
  '0': 'powerCut',
  '1': 'accident',
  '2': 'sos',
  '3': 'vibration',
  '4': 'lowspeed',
  '5': 'overspeed',
  '6': 'geofenceExit',
};

function base(head: Head): DecodedMessage {
  return { protocol: 'tk103', msgType: head.command, type: 'other', emitsRecord: true, alarms: [], deviceId: head.id };
}

export function decodeTk103(frame: Buffer, _receivedAt: Date): DecodedMessage {
  const head = locateHead(frame);
  const m = base(head);
  const { command, text, bodyAt, commaForm } = head;
  switch (command) {
    case 'BP00':
      m.type = 'login';
      m.emitsRecord = false;
      return m;
    case 'BP05':
      m.type = 'login';
      // Fixed form: the IMEI (15 chars) precedes the GPS block.
      if (commaForm) applyCommaGps(m, text.slice(bodyAt), true);
      else {
        if (text.length - bodyAt >= 15 && allDigits(text, bodyAt, bodyAt + 15)) m.attributes = { imei: text.slice(bodyAt, bodyAt + 15) };
        applyFixedGps(m, text, bodyAt + 15, false);
      }
      m.type = 'login';
      return m;
    case 'BR00':
    case 'BR01':
    case 'BR02':
      m.type = 'position';
      if (commaForm) applyCommaGps(m, text.slice(bodyAt), true);
      else applyFixedGps(m, text, bodyAt, true);
      return m;
    case 'BO01': {
      const alarm = ALARM_CODES[text.charAt(bodyAt)];
      if (alarm) m.alarms.push(alarm);
      applyFixedGps(m, text, bodyAt + 1, false);
      m.type = 'alarm';
      return m;
    }
    case 'ZC03': {
      const body = text.slice(bodyAt);
      const first = body.indexOf('$');
      const last = body.lastIndexOf('$');
      const reply = first >= 0 && last > first ? body.slice(first + 1, last) : body;
      m.type = 'command_reply';
      m.reply = reply;
      m.commandReply = { text: reply, result: /success|ok\b/i.test(reply) ? 'success' : 'unknown' };
      return m;
    }
    default: {
      // ZCxx / DW3x comma-form events carry the same GPS block; everything else is survived as 'other'.
      const body = commaForm ? text.slice(bodyAt) : '';
      if (commaForm && COMMA_GPS.test(body)) {
        applyCommaGps(m, body, false);
        m.type = 'position';
      }
      return m;
    }
  }
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** What a regex `.` matches in latin1 text: anything but CR and LF (callers check the length). */
const isAny = (c: number) => c !== 0x0a && c !== 0x0d;

/** Digits from `at` on: the index of the first non-digit. */
function digitsEnd(s: string, at: number): number {
  while (at < s.length && isDigit(s.charCodeAt(at))) at++;
  return at;
}

/**
 * `[D]DMM.M+` (lat, 3-4 integer digits) or `[DD]DMM.M+` (lon, 3-5): the index after the last
 * minute digit, or -1. Degree digits are not always zero-padded (`S4817.8731W`).
 */
function coordinateEnd(s: string, at: number, minInt: number, maxInt: number): number {
  const dot = digitsEnd(s, at);
  if (dot - at < minInt || dot - at > maxInt || s.charCodeAt(dot) !== 0x2e) return -1;
  const end = digitsEnd(s, dot + 1);
  return end > dot + 1 ? end : -1;
}

/** A fixed-width number field: plain decimals in place, anything else as `Number` reads it. */
function fieldNumber(s: string, from: number, to: number): number {
  const a = trimStart(s, from, to);
  const b = trimEnd(s, a, to);
  const n = parseDecimal(s, a, b, true);
  return Number.isNaN(n) ? Number(s.slice(a, b)) : n;
}

/**
 * Fixed-width GPS block at `at`: YYMMDD, A|V, lat, N|S, [space], lon, E|W, speed (5 chars),
 * HHMMSS, course (6 chars), [`,`], I/O (8 hex), `L` + odometer. The whole layout is checked
 * before anything is set on the message.
 */
function applyFixedGps(m: DecodedMessage, s: string, at: number, required: boolean): void {
  let ok = s.length >= at + 7 && allDigits(s, at, at + 6);
  const validity = s.charCodeAt(at + 6);
  ok = ok && (validity === 0x41 || validity === 0x56);
  const latAt = at + 7;
  const latEnd = ok ? coordinateEnd(s, latAt, 3, 4) : -1;
  const ns = s.charCodeAt(latEnd);
  ok = latEnd >= 0 && (ns === 0x4e || ns === 0x53);
  const lonAt = latEnd + 1 + (s.charCodeAt(latEnd + 1) === 0x20 ? 1 : 0);
  const lonEnd = ok ? coordinateEnd(s, lonAt, 3, 5) : -1;
  const ew = s.charCodeAt(lonEnd);
  ok = lonEnd >= 0 && (ew === 0x45 || ew === 0x57);
  const speedAt = lonEnd + 1;
  const timeAt = speedAt + 5;
  const courseAt = timeAt + 6;
  ok = ok && s.length >= courseAt + 6 && allDigits(s, timeAt, courseAt);
  for (let i = speedAt; ok && i < timeAt; i++) ok = isAny(s.charCodeAt(i));
  for (let i = courseAt; ok && i < courseAt + 6; i++) ok = isAny(s.charCodeAt(i));
  if (!ok) {
    if (required) throw new DecodeError(`${m.msgType}: GPS block not recognised`);
    return;
  }
  m.type = 'position';
  m.valid = validity === 0x41;
  m.lat = parseDegreesMinutesIn(s, latAt, latEnd, ns === 0x53 ? 'S' : 'N');
  m.lon = parseDegreesMinutesIn(s, lonAt, lonEnd, ew === 0x57 ? 'W' : 'E');
  const kmh = fieldNumber(s, speedAt, timeAt);
  if (Number.isFinite(kmh)) m.speedKmh = round2(kmh);
  const c = fieldNumber(s, courseAt, courseAt + 6);
  if (Number.isFinite(c) && c >= 0 && c <= 360) m.course = c;
  // YYMMDD here (the comma form uses DDMMYY); an all-zero date is an unset clock.
  const month = digits2(s, at + 2);
  const day = digits2(s, at + 4);
  if (month >= 1 && month <= 12 && day >= 1 && day <= 31) {
    m.fixTime = utcIso(digits2(s, at), month, day, digits2(s, timeAt), digits2(s, timeAt + 2), digits2(s, timeAt + 4));
  }
  let ioAt = courseAt + 6;
  if (s.charCodeAt(ioAt) === 0x2c) ioAt++;
  if (isHexRun(s, ioAt, 8)) applyIo(m, s.slice(ioAt, ioAt + 8));
}

function isHexRun(s: string, at: number, n: number): boolean {
  if (s.length < at + n) return false;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function applyCommaGps(m: DecodedMessage, body: string, required: boolean): void {
  const g = COMMA_GPS.exec(body);
  if (!g) {
    if (required) throw new DecodeError(`${m.msgType}: GPS block not recognised`);
    return;
  }
  const [, date, validity, lat, ns, lon, ew, speed, time, course, io] = g as unknown as string[];
  m.valid = validity === 'A';
  m.lat = parseDegreesMinutes(lat as string, ns);
  m.lon = parseDegreesMinutes(lon as string, ew);
  m.speedKmh = round2(Number(speed));
  m.course = Number(course);
  m.fixTime = isoFromHhmmssDdmmyy(time as string, date as string);
  if (io) applyIo(m, io);
}

/** I/O characters: [0] main power (0 = connected), [1] ACC (1 = on), [2] bit3 = output blocked (relay). */
function applyIo(m: DecodedMessage, io: string): void {
  m.ignition = io.charAt(1) === '1';
  const outputs = parseInt(io.charAt(2), 16);
  if (Number.isFinite(outputs)) m.relay = (outputs & 0x8) !== 0 ? 'cut' : 'normal';
  if (io.charAt(0) === '1') m.attributes = { ...m.attributes, mainPowerDisconnected: true };
}
