import { detachedCopy } from '../cursor.js';
import { asDecodeError } from '../errors.js';
import type { EncodedCommand, ProtocolSession, RelayAction, RelayCommandContext, SessionOptions, SessionResult } from '../types.js';
import { ACKED, PROTO } from './constants.js';
import { decodeGt06Packet, parsePacket } from './decoder.js';
import { encodeGt06Command, gt06Ack, gt06TimeReply, relayCommandText } from './encoder.js';

/**
 * GT06 session. Only the 0x01 login carries the IMEI, so it binds the identity for the rest of
 * the connection. ACKs carry the frame's own serial and a correct CRC: a wrong one leaves units
 * re-sending logins forever (traccar#4439) or reporting only heartbeats (traccar#2453).
 */
export class Gt06Session implements ProtocolSession {
  readonly family = 'gt06' as const;
  private id: string | undefined;
  private commandSerial = 0;

  constructor(private readonly options: SessionOptions = {}) {}

  get deviceId(): string | undefined {
    return this.id;
  }

  handleFrame(frame: Buffer, receivedAt: Date): SessionResult {
    let message;
    let proto: number;
    let long: boolean;
    try {
      const packet = parsePacket(frame);
      message = decodeGt06Packet(frame, packet);
      proto = packet.proto;
      long = packet.long;
    } catch (err) {
      return { messages: [], error: asDecodeError('GT06', err) };
    }
    if (proto === PROTO.LOGIN && message.deviceId !== undefined) this.id = detachedCopy(message.deviceId);
    else if (this.id !== undefined) message.deviceId = this.id;
    // Without a serial there is nothing correct to echo: stay silent and let the unit retry.
    const serial = message.serial;
    let ack: Buffer | undefined;
    if (serial !== undefined) {
      if (proto === PROTO.TIME_REQUEST) ack = gt06TimeReply(serial, receivedAt);
      else if (ACKED.has(proto)) ack = gt06Ack(proto, serial, long);
    }
    return { messages: [ack ? { message, ack } : { message }] };
  }

  encodeRelay(action: RelayAction, ctx: RelayCommandContext): EncodedCommand {
    if (this.id === undefined) throw new Error('GT06: no login seen on this connection');
    const text = relayCommandText(action, this.options.gt06RelayDialect ?? 'relay', this.options.gt06CommandPassword ?? '123456');
    const serverFlag = ctx.commandRef >>> 0;
    const bytes = encodeGt06Command(text, serverFlag, this.commandSerial);
    this.commandSerial = (this.commandSerial + 1) & 0xffff;
    return { bytes, correlation: { kind: 'gt06-flag', serverFlag }, expectsReply: true };
  }
}
