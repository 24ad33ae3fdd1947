/** GT06 server-to-device frames: ACKs, time reply, 0x80 commands (PROTOCOLS.md 4.3, 4.5). Pure. */
import { crc16x25 } from '../crc.js';
import type { RelayAction } from '../types.js';
import { PROTO, START_LONG, START_SHORT } from './constants.js';

/** Wraps `proto + body + serial` into a frame with length, CRC-16/X-25 and `0D 0A`. */
export function buildGt06Frame(proto: number, body: Buffer, serial: number, long = false): Buffer {
  const length = 1 + body.length + 2 + 2; // proto + body + serial + crc
  const header = long ? 4 : 3;
  const frame = Buffer.alloc(header + length + 2);
  frame[0] = long ? START_LONG : START_SHORT;
  frame[1] = frame[0];
  if (long) frame.writeUInt16BE(length, 2);
  else frame[2] = length;
  frame[header] = proto;
  body.copy(frame, header + 1);
  frame.writeUInt16BE(serial & 0xffff, header + 1 + body.length);
  frame.writeUInt16BE(crc16x25(frame, 2, header + 1 + body.length + 2), header + 1 + body.length + 2);
  frame[frame.length - 2] = 0x0d;
  frame[frame.length - 1] = 0x0a;
  return frame;
}

const EMPTY_BODY = Buffer.alloc(0);

/** `78 78 05 <proto> <serial> <crc> 0D 0A` (the 7979 form for 7979 packets). */
export function gt06Ack(proto: number, serial: number, long = false): Buffer {
  return buildGt06Frame(proto, EMPTY_BODY, serial, long);
}

/** Reply to 0x8A: the server's UTC time `YY MM DD hh mm ss`. */
export function gt06TimeReply(serial: number, now: Date): Buffer {
  const body = Buffer.from([
    now.getUTCFullYear() % 100,
    now.getUTCMonth() + 1,
    now.getUTCDate(),
    now.getUTCHours(),
    now.getUTCMinutes(),
    now.getUTCSeconds(),
  ]);
  return buildGt06Frame(PROTO.TIME_REQUEST, body, serial);
}

export type Gt06RelayDialect = 'relay' | 'dyd-password' | 'dyd';

export function relayCommandText(action: RelayAction, dialect: Gt06RelayDialect, password: string): string {
  const stop = action === 'engine_stop';
  switch (dialect) {
    case 'relay':
      return stop ? 'Relay,1#' : 'Relay,0#';
    case 'dyd-password':
      return stop ? `DYD,${password}#` : `HFYD,${password}#`;
    case 'dyd':
      return stop ? 'DYD#' : 'HFYD#';
  }
}

/**
 * 0x80 command: `cmdlen(4+n) | server flag(4) | ASCII | [language 00 02]`. The device echoes the
 * server flag in its 0x15/0x21 reply, which makes it the correlation id of the command lifecycle.
 */
export function encodeGt06Command(text: string, serverFlag: number, serial: number, withLanguage = false): Buffer {
  const ascii = Buffer.from(text, 'latin1');
  const body = Buffer.alloc(1 + 4 + ascii.length + (withLanguage ? 2 : 0));
  body[0] = 4 + ascii.length;
  body.writeUInt32BE(serverFlag >>> 0, 1);
  ascii.copy(body, 5);
  if (withLanguage) body.writeUInt16BE(0x0002, 5 + ascii.length);
  return buildGt06Frame(PROTO.COMMAND, body, serial);
}
