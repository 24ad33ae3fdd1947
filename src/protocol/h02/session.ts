import { detachedCopy } from '../cursor.js';
import { asDecodeError } from '../errors.js';
import type { EncodedCommand, ProtocolSession, RelayAction, RelayCommandContext, SessionOptions, SessionResult } from '../types.js';
import { TEXT_START } from './constants.js';
import { decodeH02 } from './decoder.js';
import { encodeH02R12, encodeH02Relay, encodeH02TimeSync } from './encoder.js';

/**
 * H02 session: binds the id, answers in the device's own maker (`HQ`, `TH`, `hq`) and sends the
 * replies CanTrack requires: V0 login and HTBT heartbeat are echoed byte for byte (CanTrack
 * protocol document); without them a unit is assumed to drop and reconnect like GT06 does.
 */
export class H02Session implements ProtocolSession {
  readonly family = 'h02' as const;
  private id: string | undefined;
  private maker = 'HQ';
  /** bytes 1-2 of the text frame `maker` was read from, so it is decoded again only when they change */
  private makerBytes = -1;

  constructor(private readonly options: SessionOptions = {}) {}

  get deviceId(): string | undefined {
    return this.id;
  }

  handleFrame(frame: Buffer, receivedAt: Date): SessionResult {
    let message;
    try {
      message = decodeH02(frame, receivedAt);
    } catch (err) {
      return { messages: [], error: asDecodeError('H02', err) };
    }
    // Answer in the device's own maker (`HQ`, `TH`, `hq`): bytes 1-2 of a text frame.
    if (frame[0] === TEXT_START) {
      const bytes = frame.length >= 3 ? ((frame[1] as number) << 8) | (frame[2] as number) : -1;
      if (bytes < 0 || bytes !== this.makerBytes) {
        this.maker = makerText(bytes, frame);
        this.makerBytes = bytes;
      }
    }
    if (message.deviceId !== undefined && this.id === undefined) this.id = detachedCopy(message.deviceId);
    const id = message.deviceId ?? this.id;
    let ack: Buffer | undefined;
    if (message.msgType === 'V0' || message.msgType === 'HTBT') {
      ack = Buffer.from(frame);
    } else if (id !== undefined) {
      if (message.msgType === 'V1' && this.options.h02TimeSyncReply) ack = encodeH02TimeSync(this.maker, id, receivedAt);
      else if (this.options.h02R12Ack && message.format === 'binary') ack = encodeH02R12(this.maker, id, receivedAt);
    }
    return { messages: [ack ? { message, ack } : { message }] };
  }

  encodeRelay(action: RelayAction, ctx: RelayCommandContext): EncodedCommand {
    if (this.id === undefined) throw new Error('H02: device id not known yet on this connection');
    const { bytes, time } = encodeH02Relay(this.maker, this.id, action, ctx.now);
    return { bytes, correlation: { kind: 'h02-echo', command: 'S20', time }, expectsReply: true };
  }
}

/** The makers units send, one string each for every session instead of one per session. */
const KNOWN_MAKERS = new Map(['HQ', 'TH', 'hq'].map((m) => [(m.charCodeAt(0) << 8) | m.charCodeAt(1), m]));

function makerText(bytes: number, frame: Buffer): string {
  return KNOWN_MAKERS.get(bytes) ?? frame.toString('latin1', 1, 3);
}
