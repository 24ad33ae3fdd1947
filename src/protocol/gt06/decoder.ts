/**
 * GT06 codec, decode side (PROTOCOLS.md 4.1-4.2, 4.5 replies). Pure: frame in, message out.
 */
import { crc16x25 } from '../crc.js';
import { ByteCursor } from '../cursor.js';
import { DecodeError } from '../errors.js';
import { round6, utcIso } from '../geo.js';
import type { AlarmName, CommandReplyInfo, DecodedMessage } from '../types.js';
import {
  BIT_ACC_ON,
  BIT_ACC_PRESENT,
  BIT_NORTH,
  BIT_VALID,
  BIT_WEST,
  COORD_DIVISOR,
  COURSE_MASK,
  GPS_BLOCK_BYTES,
  LBS_BYTES,
  PROTO,
  START_LONG,
  STATUS_TRAILER_BYTES,
  TI_ACC_ON,
  TI_RELAY_CUT,
} from './constants.js';

/** The parts of a framed GT06 packet, located from both ends (the length byte may lie). */
export interface Gt06Packet {
  long: boolean;
  proto: number;
  /** content between the protocol number and the serial */
  content: Buffer;
  /** offset of `content` in the frame, for error offsets */
  contentOffset: number;
  /** undefined for the short form some units send without serial and CRC */
  serial: number | undefined;
  crcValid: boolean;
  lengthFieldMismatch: boolean;
}

export function parsePacket(frame: Buffer, withoutSerial = false): Gt06Packet {
  const long = frame[0] === START_LONG;
  const header = long ? 4 : 3;
  const declared = long ? (frame.length >= 4 ? frame.readUInt16BE(2) : 0) : (frame[2] ?? 0);
  if (withoutSerial) {
    // Some units send a login without serial and CRC, its length byte counting them anyway.
    if (frame.length < header + 1 + 2) throw new DecodeError(`GT06 frame too short (${frame.length} bytes)`, 0);
    return {
      long,
      proto: frame[header] as number,
      content: frame.subarray(header + 1, frame.length - 2),
      contentOffset: header + 1,
      serial: undefined,
      crcValid: false,
      lengthFieldMismatch: header + declared + 2 !== frame.length,
    };
  }
  // start + length + proto + serial(2) + crc(2) + stop(2)
  if (frame.length < header + 1 + 6) throw new DecodeError(`GT06 frame too short (${frame.length} bytes)`, 0);
  const end = frame.length - 2; // before 0D 0A
  const crcAt = end - 2;
  const serialAt = crcAt - 2;
  const crc = frame.readUInt16BE(crcAt);
  return {
    long,
    proto: frame[header] as number,
    content: frame.subarray(header + 1, serialAt),
    contentOffset: header + 1,
    serial: frame.readUInt16BE(serialAt),
    crcValid: crc16x25(frame, 2, crcAt) === crc,
    lengthFieldMismatch: header + declared + 2 !== frame.length,
  };
}

/** `0x00`..`0xff`, built once: every message carries its protocol number's token. */
const PROTO_TOKENS: readonly string[] = Array.from({ length: 256 }, (_, n) => `0x${n.toString(16).padStart(2, '0')}`);

export function protoToken(proto: number): string {
  return PROTO_TOKENS[proto] ?? `0x${proto.toString(16).padStart(2, '0')}`;
}

export function decodeGt06(frame: Buffer, _receivedAt: Date): DecodedMessage {
  return decodeGt06Packet(frame, parsePacket(frame));
}

/** decodeGt06 for a frame already parsed (`p = parsePacket(frame)`), so a session parses once. */
export function decodeGt06Packet(frame: Buffer, p: Gt06Packet): DecodedMessage {
  try {
    return decodePacket(p);
  } catch (err) {
    // A frame shorter than its length field may be the serial-less short form: try that reading.
    if (!(err instanceof DecodeError) || !p.lengthFieldMismatch) throw err;
    const short = parsePacket(frame, true);
    if (short.content.length <= p.content.length) throw err;
    return decodePacket(short);
  }
}

function decodePacket(p: Gt06Packet): DecodedMessage {
  const m: DecodedMessage = {
    protocol: 'gt06',
    msgType: protoToken(p.proto),
    type: 'other',
    emitsRecord: false,
    alarms: [],
    crcValid: p.crcValid,
    lengthFieldMismatch: p.lengthFieldMismatch,
  };
  if (p.serial !== undefined) m.serial = p.serial;
  const c = new ByteCursor(p.content);
  switch (p.proto) {
    case PROTO.LOGIN: {
      m.type = 'login';
      m.deviceId = imeiFromTerminalId(c.bcd(8, 'terminal id'));
      if (c.remaining >= 4) {
        const typeId = c.u16('type id');
        const zone = c.u16('timezone');
        m.attributes = { typeId, timezone: zone };
      }
      return m;
    }
    case PROTO.GPS:
      decodeGps(m, c);
      return m;
    case PROTO.GPS_LBS:
    case PROTO.GPS_LBS_11:
      decodeGps(m, c);
      if (c.remaining >= LBS_BYTES) decodeLbs(m, c);
      return m;
    case PROTO.GPS_LBS_22: {
      decodeGps(m, c);
      if (c.remaining >= LBS_BYTES) decodeLbs(m, c);
      if (c.remaining >= 1) m.ignition = c.u8('acc') !== 0;
      if (c.remaining >= 2) {
        const uploadMode = c.u8('upload mode');
        const reupload = c.u8('re-upload flag');
        m.attributes = { ...m.attributes, uploadMode, reupload: reupload !== 0 };
      }
      if (c.remaining >= 4) m.attributes = { ...m.attributes, odometerM: c.u32('mileage') };
      return m;
    }
    case PROTO.STATUS:
    case PROTO.HEARTBEAT_23: {
      m.type = 'heartbeat';
      if (c.remaining < 1) return m;
      m.emitsRecord = true;
      applyTerminalInfo(m, c.u8('terminal info'));
      if (c.remaining >= 1) m.voltageLevel = c.u8('voltage level');
      if (c.remaining >= 1) m.gsmLevel = c.u8('gsm level');
      if (c.remaining >= 1) addAlarm(m, alarmFromByte(c.u8('alarm')));
      return m;
    }
    case PROTO.ALARM:
    case PROTO.ALARM_26:
    case PROTO.ALARM_27: {
      decodeGps(m, c);
      // The status trailer is anchored at the end: the LBS length byte differs between firmwares.
      if (p.content.length < GPS_BLOCK_BYTES + STATUS_TRAILER_BYTES) throw new DecodeError('alarm: too short for its status', p.contentOffset);
      const lbsLen = p.content.length - GPS_BLOCK_BYTES - STATUS_TRAILER_BYTES;
      if (lbsLen >= 1 + LBS_BYTES) {
        const lbs = new ByteCursor(p.content, GPS_BLOCK_BYTES + 1);
        decodeLbs(m, lbs);
      }
      const t = new ByteCursor(p.content, p.content.length - STATUS_TRAILER_BYTES);
      applyTerminalInfo(m, t.u8('terminal info'));
      m.voltageLevel = t.u8('voltage level');
      m.gsmLevel = t.u8('gsm level');
      addAlarm(m, alarmFromByte(t.u8('alarm')));
      if (m.alarms.length > 0) m.type = 'alarm';
      return m;
    }
    case PROTO.LBS_ALARM: {
      m.emitsRecord = true;
      if (c.remaining >= LBS_BYTES + STATUS_TRAILER_BYTES) decodeLbs(m, c);
      const t = new ByteCursor(p.content, Math.max(0, p.content.length - STATUS_TRAILER_BYTES));
      applyTerminalInfo(m, t.u8('terminal info'));
      m.voltageLevel = t.u8('voltage level');
      m.gsmLevel = t.u8('gsm level');
      addAlarm(m, alarmFromByte(t.u8('alarm')));
      m.type = m.alarms.length > 0 ? 'alarm' : 'lbs';
      return m;
    }
    case PROTO.STRING_REPLY:
      return decodeStringReply(m, p.content);
    case PROTO.STRING_REPLY_NEW:
      return decodeStringReplyNew(m, p.content);
    case PROTO.TIME_REQUEST:
      m.type = 'other';
      return m;
    case PROTO.INFO:
      return decodeInfo(m, c);
    default:
      // Vendor variants (PROTOCOLS.md 4.6) are framed and acknowledged where due, not guessed at.
      return m;
  }
}

/** IMEI = the 16 BCD digits of the terminal id minus the leading nibble (eusonlito#113). */
export function imeiFromTerminalId(digits: string): string {
  return digits.length === 16 && digits.startsWith('0') ? digits.slice(1) : digits.replace(/^0+(?=\d{15}$)/, '');
}

function decodeGps(m: DecodedMessage, c: ByteCursor): void {
  const year = c.u8('year');
  const month = c.u8('month');
  const day = c.u8('day');
  const hour = c.u8('hour');
  const minute = c.u8('minute');
  const second = c.u8('second');
  const sats = c.u8('satellites');
  const latRaw = c.u32('latitude');
  const lonRaw = c.u32('longitude');
  const speed = c.u8('speed');
  const courseStatus = c.u16('course/status');
  m.type = 'position';
  m.emitsRecord = true;
  // An all-zero date is an unset clock (no fix since power-up), not the year 2000.
  if (!(year === 0 && month === 0 && day === 0)) m.fixTime = utcIso(year, month, day, hour, minute, second);
  m.satellites = sats & 0x0f;
  m.valid = (courseStatus & BIT_VALID) !== 0;
  const lat = latRaw / COORD_DIVISOR;
  const lon = lonRaw / COORD_DIVISOR;
  if (lat > 90 || lon > 180) throw new DecodeError('GPS: coordinates out of range', c.offset - 11);
  m.lat = round6((courseStatus & BIT_NORTH) !== 0 ? lat : -lat);
  m.lon = round6((courseStatus & BIT_WEST) !== 0 ? -lon : lon);
  m.speedKmh = speed;
  m.course = courseStatus & COURSE_MASK;
  if ((courseStatus & BIT_ACC_PRESENT) !== 0) m.ignition = (courseStatus & BIT_ACC_ON) !== 0;
}

function decodeLbs(m: DecodedMessage, c: ByteCursor): void {
  const mcc = c.u16('mcc');
  const mnc = c.u8('mnc');
  const lac = c.u16('lac');
  const cid = c.u24('cell id');
  if (mcc !== 0 || lac !== 0 || cid !== 0) m.cell = { mcc: mcc & 0x7fff, mnc, lac, cid };
}

function applyTerminalInfo(m: DecodedMessage, info: number): void {
  m.ignition = (info & TI_ACC_ON) !== 0;
  m.relay = (info & TI_RELAY_CUT) !== 0 ? 'cut' : 'normal';
  m.attributes = { ...m.attributes, charging: (info & 0x04) !== 0, armed: (info & 0x01) !== 0 };
  addAlarm(m, TERMINAL_ALARMS[(info >> 3) & 0x07]);
}

/** Terminal-info bits 3-5 (4.2). */
const TERMINAL_ALARMS: ReadonlyArray<AlarmName | undefined> = [undefined, 'vibration', 'powerCut', 'lowBattery', 'sos', undefined, 'geofence', 'removing'];

/** Alarm byte (4.2): standard codes, then the model-specific ones Traccar's tests rely on. */
const ALARM_CODES: ReadonlyMap<number, AlarmName> = new Map<number, AlarmName>([
  [0x01, 'sos'],
  [0x02, 'powerCut'],
  [0x03, 'vibration'],
  [0x04, 'geofenceEnter'],
  [0x05, 'geofenceExit'],
  [0x06, 'overspeed'],
  [0x09, 'movement'],
  [0x0c, 'tampering'],
  [0x0e, 'lowBattery'],
  [0x0f, 'lowBattery'],
  [0x11, 'powerOff'],
  [0x13, 'tampering'],
  [0x14, 'door'],
  [0x18, 'removing'],
  [0x19, 'lowBattery'],
  [0x25, 'tampering'],
]);

function alarmFromByte(code: number): AlarmName | undefined {
  return ALARM_CODES.get(code);
}

function addAlarm(m: DecodedMessage, alarm: AlarmName | undefined): void {
  if (alarm !== undefined && !m.alarms.includes(alarm)) m.alarms.push(alarm);
}

function replyResult(text: string): CommandReplyInfo['result'] {
  if (/success|\bok\b/i.test(text)) return 'success';
  if (/unvalued|not running|fail|error|invalid/i.test(text)) return 'failure';
  return 'unknown';
}

/**
 * 0x15: command length(1), server flag(4), ASCII text, [language(2)]. Several firmwares write 0
 * in the length byte and zero-pad the text, so the text falls back to the frame's own length.
 */
function decodeStringReply(m: DecodedMessage, content: Buffer): DecodedMessage {
  const c = new ByteCursor(content);
  const declared = c.u8('command length');
  const serverFlag = c.u32('server flag');
  const available = content.length - 5;
  let text: string;
  if (declared >= 4 && declared - 4 <= available) {
    text = content.toString('latin1', 5, 5 + declared - 4);
  } else {
    // Zero length byte, zero-padded text, then the 2-byte language (00 01 / 00 02).
    let end = content.length;
    if (end - 5 >= 2 && content[end - 2] === 0x00 && (content[end - 1] === 0x01 || content[end - 1] === 0x02)) end -= 2;
    text = content.toString('latin1', 5, end);
  }
  text = text.replace(/\u0000+$/, '');
  m.type = 'command_reply';
  m.emitsRecord = true;
  m.reply = text;
  m.commandReply = { serverFlag, text, result: replyResult(text) };
  if (/DYD=01/.test(text)) m.relay = 'cut';
  return m;
}

/** 0x21 (7979): server flag(4), encoding(1: 1 ASCII, 2 UTF-16BE), text. */
function decodeStringReplyNew(m: DecodedMessage, content: Buffer): DecodedMessage {
  const c = new ByteCursor(content);
  const serverFlag = c.u32('server flag');
  const encoding = c.u8('encoding');
  const body = content.subarray(5);
  let text: string;
  if (encoding === 2) {
    const even = body.subarray(0, body.length - (body.length % 2));
    const swapped = Buffer.from(even);
    swapped.swap16();
    text = swapped.toString('utf16le');
  } else {
    text = body.toString('latin1');
  }
  text = text.replace(/\u0000+$/, '');
  m.type = 'command_reply';
  m.emitsRecord = true;
  m.reply = text;
  m.commandReply = { serverFlag, text, result: replyResult(text) };
  return m;
}

/** 0x94 information transfer: 0x00 external voltage, 0x04 status text, 0x0A IMEI/IMSI/ICCID. */
function decodeInfo(m: DecodedMessage, c: ByteCursor): DecodedMessage {
  const sub = c.u8('information type');
  m.type = 'status';
  m.emitsRecord = true;
  if (sub === 0x00 && c.remaining >= 2) {
    m.attributes = { powerV: c.u16('external voltage') / 100 };
  } else if (sub === 0x04) {
    const text = c.bytes(c.remaining, 'status text').toString('latin1');
    m.attributes = { statusText: text };
    const dyd = /DYD=(\d+)/.exec(text);
    if (dyd) m.relay = dyd[1] === '01' ? 'cut' : 'normal';
  } else if (sub === 0x0a && c.remaining >= 24) {
    m.attributes = { imei: c.bcd(8, 'imei').replace(/^0/, ''), imsi: c.bcd(8, 'imsi'), iccid: c.bcd(8, 'iccid') };
  } else {
    m.type = 'other';
    m.emitsRecord = false;
  }
  return m;
}
