/**
 * Device-side frame builders for the simulator: what a TK100B-class unit of each family sends,
 * byte for byte as PROTOCOLS.md describes. Pure: state and time are passed in.
 */
import { crc16x25 } from '../protocol/crc.js';
import type { ProtocolFamily } from '../protocol/types.js';

export interface DeviceState {
  imei: string;
  /** TK103 units use a 12-character id besides the IMEI */
  shortId: string;
  lat: number;
  lon: number;
  speedKmh: number;
  course: number;
  ignition: boolean;
  relayCut: boolean;
  battery: number;
}

export type ReportKind = 'login' | 'position' | 'heartbeat' | 'alarm';

export interface BuiltFrame {
  bytes: Buffer;
  kind: ReportKind;
  /** how the gateway's ACK for this frame is recognised, when the protocol has one */
  ackKey?: string;
}

const p2 = (n: number) => String(n).padStart(2, '0');
const KNOTS = 1.852;

function hhmmss(d: Date): string {
  return `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}`;
}
function ddmmyy(d: Date): string {
  return `${p2(d.getUTCDate())}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCFullYear() % 100)}`;
}
function yymmdd(d: Date): string {
  return `${p2(d.getUTCFullYear() % 100)}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}`;
}
/** decimal degrees to `[D]DDMM.MMMM` with the given degree width */
function degMin(value: number, degWidth: number): string {
  const abs = Math.abs(value);
  const deg = Math.floor(abs);
  const min = (abs - deg) * 60;
  return `${String(deg).padStart(degWidth, '0')}${min.toFixed(4).padStart(7, '0')}`;
}

// ---------- H02 / CanTrack ----------

/** Status word, negative logic (PROTOCOLS.md 3.3): idle FFFFFBFF = no alarm, ACC off. */
export function h02Status(s: DeviceState, sos: boolean): string {
  let word = 0xfffffbff;
  if (s.ignition) word |= 1 << 10;
  if (s.relayCut) word &= ~(1 << 27);
  if (sos) word &= ~(1 << 1);
  return (word >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

export function h02Frame(s: DeviceState, kind: ReportKind, now: Date): BuiltFrame {
  switch (kind) {
    case 'login':
      return { bytes: Buffer.from(`*HQ,${s.imei},V0#`), kind, ackKey: `V0` };
    case 'heartbeat':
      return { bytes: Buffer.from(`*HQ,${s.imei},HTBT,${s.battery}#`), kind, ackKey: 'HTBT' };
    default: {
      const knots = (s.speedKmh / KNOTS).toFixed(2);
      const text =
        `*HQ,${s.imei},V1,${hhmmss(now)},A,${degMin(s.lat, 2)},${s.lat >= 0 ? 'N' : 'S'},${degMin(s.lon, 3)},${s.lon >= 0 ? 'E' : 'W'},` +
        `${knots},${Math.round(s.course)},${ddmmyy(now)},${h02Status(s, kind === 'alarm')}#`;
      return { bytes: Buffer.from(text), kind };
    }
  }
}

/** `V4` reply to `S20`: echoes the command and our HHMMSS, then a position with the new status. */
export function h02CommandReply(s: DeviceState, serverTime: string, ok: boolean, now: Date): Buffer {
  const knots = (s.speedKmh / KNOTS).toFixed(2);
  return Buffer.from(
    `*HQ,${s.imei},V4,S20,${ok ? 'DONE' : 'ERROR'},${serverTime},${hhmmss(now)},A,${degMin(s.lat, 2)},${s.lat >= 0 ? 'N' : 'S'},` +
      `${degMin(s.lon, 3)},${s.lon >= 0 ? 'E' : 'W'},${knots},${Math.round(s.course)},${ddmmyy(now)},${h02Status(s, false)}#`,
  );
}

// ---------- GT06 ----------

export function gt06Packet(proto: number, body: Buffer, serial: number): Buffer {
  const length = 1 + body.length + 4;
  const f = Buffer.alloc(5 + length);
  f[0] = 0x78;
  f[1] = 0x78;
  f[2] = length;
  f[3] = proto;
  body.copy(f, 4);
  f.writeUInt16BE(serial & 0xffff, 4 + body.length);
  f.writeUInt16BE(crc16x25(f, 2, 6 + body.length), 6 + body.length);
  f[f.length - 2] = 0x0d;
  f[f.length - 1] = 0x0a;
  return f;
}

function gt06Gps(s: DeviceState, now: Date): Buffer {
  const b = Buffer.alloc(18);
  b[0] = now.getUTCFullYear() % 100;
  b[1] = now.getUTCMonth() + 1;
  b[2] = now.getUTCDate();
  b[3] = now.getUTCHours();
  b[4] = now.getUTCMinutes();
  b[5] = now.getUTCSeconds();
  b[6] = 0xc9; // GPS info length 12, 9 satellites
  b.writeUInt32BE(Math.round(Math.abs(s.lat) * 1_800_000), 7);
  b.writeUInt32BE(Math.round(Math.abs(s.lon) * 1_800_000), 11);
  b[15] = Math.min(255, Math.round(s.speedKmh));
  let cs = Math.round(s.course) & 0x3ff;
  cs |= 1 << 12; // fixed
  if (s.lat >= 0) cs |= 1 << 10;
  if (s.lon < 0) cs |= 1 << 11;
  b.writeUInt16BE(cs, 16);
  return b;
}

const GT06_LBS = Buffer.from([0x00, 0xcc, 0x00, 0x28, 0x7d, 0x00, 0x1f, 0x71]);

function gt06TerminalInfo(s: DeviceState, alarmBits = 0): number {
  return (s.ignition ? 0x02 : 0) | 0x04 | 0x40 | (s.relayCut ? 0x80 : 0) | (alarmBits << 3);
}

export function gt06Frame(s: DeviceState, kind: ReportKind, now: Date, serial: number): BuiltFrame {
  switch (kind) {
    case 'login':
      return { bytes: gt06Packet(0x01, Buffer.from(`0${s.imei}`, 'hex'), serial), kind, ackKey: `01:${serial}` };
    case 'heartbeat':
      return { bytes: gt06Packet(0x13, Buffer.from([gt06TerminalInfo(s), 6, 4, 0, 2]), serial), kind, ackKey: `13:${serial}` };
    case 'alarm': {
      const body = Buffer.concat([gt06Gps(s, now), Buffer.from([8]), GT06_LBS, Buffer.from([gt06TerminalInfo(s, 4), 6, 4, 0x01, 2])]);
      return { bytes: gt06Packet(0x16, body, serial), kind, ackKey: `16:${serial}` };
    }
    default:
      return { bytes: gt06Packet(0x12, Buffer.concat([gt06Gps(s, now), GT06_LBS]), serial), kind, ackKey: `12:${serial}` };
  }
}

/** 0x15 reply echoing the server flag, with the texts units print (PROTOCOLS.md 4.5). */
export function gt06CommandReply(serverFlag: number, cut: boolean, serial: number): Buffer {
  const text = Buffer.from(cut ? 'Cut off the fuel supply: Success!' : 'Restore fuel supply: Success!', 'latin1');
  const body = Buffer.alloc(1 + 4 + text.length + 2);
  body[0] = 4 + text.length;
  body.writeUInt32BE(serverFlag >>> 0, 1);
  text.copy(body, 5);
  body.writeUInt16BE(0x0002, 5 + text.length);
  return gt06Packet(0x15, body, serial);
}

// ---------- TK103 ----------

function tk103Gps(s: DeviceState, now: Date): string {
  const io = `0${s.ignition ? 1 : 0}${s.relayCut ? '8' : '0'}00000`;
  return (
    `${yymmdd(now)}A${degMin(s.lat, 2)}${s.lat >= 0 ? 'N' : 'S'}${degMin(s.lon, 3)}${s.lon >= 0 ? 'E' : 'W'}` +
    `${s.speedKmh.toFixed(1).padStart(5, '0')}${hhmmss(now)}${s.course.toFixed(2).padStart(6, '0')}${io}L00000000`
  );
}

export function tk103Frame(s: DeviceState, kind: ReportKind, now: Date): BuiltFrame {
  switch (kind) {
    case 'login':
      return { bytes: Buffer.from(`(${s.shortId}BP05${s.imei}${tk103Gps(s, now)})`), kind, ackKey: 'AP05' };
    case 'heartbeat':
      return { bytes: Buffer.from(`(${s.shortId}BP00${s.shortId}HSO)`), kind, ackKey: 'AP01' };
    case 'alarm':
      return { bytes: Buffer.from(`(${s.shortId}BO012${tk103Gps(s, now)})`), kind };
    default:
      return { bytes: Buffer.from(`(${s.shortId}BR00${tk103Gps(s, now)})`), kind };
  }
}

// ---------- GPS103 ----------

export function gps103Frame(s: DeviceState, kind: ReportKind, now: Date): BuiltFrame {
  switch (kind) {
    case 'login':
      return { bytes: Buffer.from(`##,imei:${s.imei},A;`), kind, ackKey: 'LOAD' };
    case 'heartbeat':
      return { bytes: Buffer.from(`${s.imei};`), kind, ackKey: 'ON' };
    default: {
      const keyword = kind === 'alarm' ? 'help me' : 'tracker';
      const local = `${yymmdd(now)}${hhmmss(now)}`;
      const text =
        `imei:${s.imei},${keyword},${local},,F,${hhmmss(now)}.000,A,${degMin(s.lat, 2)},${s.lat >= 0 ? 'N' : 'S'},` +
        `${degMin(s.lon, 3)},${s.lon >= 0 ? 'E' : 'W'},${(s.speedKmh / KNOTS).toFixed(2)},${s.course.toFixed(2)},,${s.ignition ? 1 : 0},0,,,;`;
      return kind === 'alarm' ? { bytes: Buffer.from(text), kind, ackKey: 'SOS' } : { bytes: Buffer.from(text), kind };
    }
  }
}

export function buildFrame(family: ProtocolFamily, s: DeviceState, kind: ReportKind, now: Date, serial: number): BuiltFrame {
  switch (family) {
    case 'h02':
      return h02Frame(s, kind, now);
    case 'gt06':
      return gt06Frame(s, kind, now, serial);
    case 'tk103':
      return tk103Frame(s, kind, now);
    case 'gps103':
      return gps103Frame(s, kind, now);
  }
}
