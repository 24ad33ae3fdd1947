import { detachedCopy } from '../cursor.js';
import { asDecodeError } from '../errors.js';
import type { EncodedCommand, ProtocolSession, RelayAction, SessionResult } from '../types.js';
import { decodeGps103 } from './decoder.js';

const LOAD = Buffer.from('LOAD', 'latin1');
const ON = Buffer.from('ON', 'latin1');

/**
 * GPS103 session. `LOAD` answers the login (without it units only send heartbeats, traccar#952)
 * and `ON` every heartbeat; an SOS `help me` is acknowledged with `**,imei:<imei>,E;` so the unit
 * stops repeating it.
 */
export class Gps103Session implements ProtocolSession {
  readonly family = 'gps103' as const;
  private id: string | undefined;

  get deviceId(): string | undefined {
    return this.id;
  }

  handleFrame(frame: Buffer, receivedAt: Date): SessionResult {
    let decoded;
    try {
      decoded = decodeGps103(frame, receivedAt);
    } catch (err) {
      return { messages: [], error: asDecodeError('GPS103', err) };
    }
    const { message, kind, heartbeatPrefix } = decoded;
    if (this.id === undefined && message.deviceId !== undefined) this.id = detachedCopy(message.deviceId);
    let ack: Buffer | undefined;
    if (kind === 'login') ack = LOAD;
    else if (kind === 'heartbeat' || heartbeatPrefix) ack = ON;
    if (kind === 'data' && message.alarms.includes('sos') && /^help me/i.test(message.msgType)) {
      const sosAck = Buffer.from(`**,imei:${message.deviceId},E;`, 'latin1');
      ack = ack ? Buffer.concat([ack, sosAck]) : sosAck;
    }
    return { messages: [ack ? { message, ack } : { message }] };
  }

  /** `J` stop / `K` resume, without `;` as the vendor PC tool sends them (traccar#1345). No reply. */
  encodeRelay(action: RelayAction): EncodedCommand {
    if (this.id === undefined) throw new Error('GPS103: device id not known yet on this connection');
    const bytes = Buffer.from(`**,imei:${this.id},${action === 'engine_stop' ? 'J' : 'K'}`, 'latin1');
    return { bytes, correlation: { kind: 'none' }, expectsReply: false };
  }
}
