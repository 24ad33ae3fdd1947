/**
 * TK103 codec (PROTOCOLS.md section 5): `(` + id + 4-character command + body + `)`, in the
 * fixed-width form (`(027043594183BR00...)`) and the comma form of IMEI firmwares
 * (`(864768010009188,BP05,...)`). No checksum. Pure.
 */
import { DecodeError } from '../errors.js';
import { isoFromHhmmssDdmmyy, parseDegreesMinutes, round2, utcIso } from '../geo.js';
import type { AlarmName, DecodedMessage } from '../types.js';

export interface Tk103Parts {
  id: string;
  command: string;
  body: string;
  commaForm: boolean;
}

const FIXED_HEAD = /^([A-Za-z0-9]{11,15}?)([A-Z]{2}[0-9A-Z]{2})/;
const COMMA_HEAD = /^([A-Za-z0-9]{11,15}),([A-Z]{2}[0-9A-Z]{2}),?/;

export function splitTk103(frame: Buffer): Tk103Parts {
  if (frame[0] !== 0x28 || frame[frame.length - 1] !== 0x29) throw new DecodeError('not a TK103 frame', 0);
  const text = frame.toString('latin1', 1, frame.length - 1);
  const comma = COMMA_HEAD.exec(text);
  if (comma) return { id: comma[1] as string, command: comma[2] as string, body: text.slice(comma[0].length), commaForm: true };
  const fixed = FIXED_HEAD.exec(text);
  if (fixed) return { id: fixed[1] as string, command: fixed[2] as string, body: text.slice(fixed[0].length), commaForm: false };
  throw new DecodeError('TK103: no device id and command');
}

/**
 * Fixed-width GPS block: YYMMDD, A|V, lat, N|S, lon, E|W, speed (5), HHMMSS, course (6), I/O (8),
 * `L` + odometer. Degree digits are not always zero-padded (`S4817.8731W`), hence the regex.
 */
const FIXED_GPS =
  /^(\d{6})([AV])(\d{1,2})(\d{2}\.\d+)([NS]) ?(\d{1,3})(\d{2}\.\d+)([EW])(.{5})(\d{6})(.{6}),?([0-9A-Fa-f]{8})?(?:L([0-9A-Fa-f]{1,8}))?/;

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

function base(parts: Tk103Parts): DecodedMessage {
  return { protocol: 'tk103', msgType: parts.command, type: 'other', emitsRecord: true, alarms: [], deviceId: parts.id };
}

export function decodeTk103(frame: Buffer, _receivedAt: Date): DecodedMessage {
  const parts = splitTk103(frame);
  const m = base(parts);
  const { command, body, commaForm } = parts;
  switch (command) {
    case 'BP00':
      m.type = 'login';
      m.emitsRecord = false;
      return m;
    case 'BP05':
      m.type = 'login';
      // Fixed form: the IMEI (15 chars) precedes the GPS block.
      if (commaForm) applyCommaGps(m, body, true);
      else {
        const imei = body.slice(0, 15);
        if (/^\d{15}$/.test(imei)) m.attributes = { imei };
        applyFixedGps(m, body.slice(15), false);
      }
      m.type = 'login';
      return m;
    case 'BR00':
    case 'BR01':
    case 'BR02':
      m.type = 'position';
      if (commaForm) applyCommaGps(m, body, true);
      else applyFixedGps(m, body, true);
      return m;
    case 'BO01': {
      const alarm = ALARM_CODES[body.charAt(0)];
      if (alarm) m.alarms.push(alarm);
      applyFixedGps(m, body.slice(1), false);
      m.type = 'alarm';
      return m;
    }
    case 'ZC03': {
      const first = body.indexOf('$');
      const last = body.lastIndexOf('$');
      const text = first >= 0 && last > first ? body.slice(first + 1, last) : body;
      m.type = 'command_reply';
      m.reply = text;
      m.commandReply = { text, result: /success|ok\b/i.test(text) ? 'success' : 'unknown' };
      return m;
    }
    default:
      // ZCxx / DW3x comma-form events carry the same GPS block; everything else is survived as 'other'.
      if (commaForm && COMMA_GPS.test(body)) {
        applyCommaGps(m, body, false);
        m.type = 'position';
      }
      return m;
  }
}

function applyFixedGps(m: DecodedMessage, block: string, required: boolean): void {
  const g = FIXED_GPS.exec(block);
  if (!g) {
    if (required) throw new DecodeError(`${m.msgType}: GPS block not recognised`);
    return;
  }
  const [, date, validity, latDeg, latMin, ns, lonDeg, lonMin, ew, speed, time, course, io] = g as unknown as string[];
  m.type = 'position';
  m.valid = validity === 'A';
  m.lat = parseDegreesMinutes(`${latDeg}${latMin}`, ns);
  m.lon = parseDegreesMinutes(`${lonDeg}${lonMin}`, ew);
  const kmh = Number((speed as string).trim());
  if (Number.isFinite(kmh)) m.speedKmh = round2(kmh);
  const c = Number((course as string).trim());
  if (Number.isFinite(c) && c >= 0 && c <= 360) m.course = c;
  // YYMMDD here (the comma form uses DDMMYY); an all-zero date is an unset clock.
  const d = date as string;
  const t = time as string;
  const month = Number(d.slice(2, 4));
  const day = Number(d.slice(4, 6));
  if (month >= 1 && month <= 12 && day >= 1 && day <= 31) {
    m.fixTime = utcIso(Number(d.slice(0, 2)), month, day, Number(t.slice(0, 2)), Number(t.slice(2, 4)), Number(t.slice(4, 6)));
  }
  if (io) applyIo(m, io);
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
