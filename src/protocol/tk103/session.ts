import { detachedCopy } from '../cursor.js';
import { asDecodeError } from '../errors.js';
import type { EncodedCommand, ProtocolSession, RelayAction, SessionResult } from '../types.js';
import { decodeTk103 } from './decoder.js';

/** TK103 session: answers the handshake and the login, without which units keep enrolling. */
export class Tk103Session implements ProtocolSession {
  readonly family = 'tk103' as const;
  private id: string | undefined;

  get deviceId(): string | undefined {
    return this.id;
  }

  handleFrame(frame: Buffer, receivedAt: Date): SessionResult {
    let message;
    try {
      message = decodeTk103(frame, receivedAt);
    } catch (err) {
      return { messages: [], error: asDecodeError('TK103', err) };
    }
    const id = message.deviceId;
    if (this.id === undefined && id !== undefined) this.id = detachedCopy(id);
    let ack: Buffer | undefined;
    if (message.msgType === 'BP00') ack = Buffer.from(`(${id}AP01HSO)`, 'latin1');
    else if (message.msgType === 'BP05') ack = Buffer.from(`(${id}AP05)`, 'latin1');
    return { messages: [ack ? { message, ack } : { message }] };
  }

  /** AV01 + 0 = output on (engine stop), 1 = off; the device sends no reply (PROTOCOLS.md 5). */
  encodeRelay(action: RelayAction): EncodedCommand {
    if (this.id === undefined) throw new Error('TK103: device id not known yet on this connection');
    const bytes = Buffer.from(`(${this.id}AV01${action === 'engine_stop' ? '0' : '1'})`, 'latin1');
    return { bytes, correlation: { kind: 'none' }, expectsReply: false };
  }
}
