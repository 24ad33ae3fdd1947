/**
 * Detect + frame + decode for one TCP connection or one UDP source, as a pure state machine:
 * bytes and the receive time in, events out. The gateway's connections and `tkgw decode` both
 * drive it, so a capture decodes offline exactly as it would live.
 */
import { detectProtocol } from './detect.js';
import type { DecodeError } from './errors.js';
import type {
  Framer,
  FramerLimits,
  FramerOutput,
  ProtocolFamily,
  ProtocolModule,
  ProtocolSession,
  SessionMessage,
  SessionOptions,
} from './types.js';

export type StreamEvent =
  | { kind: 'detected'; family: ProtocolFamily }
  | { kind: 'messages'; family: ProtocolFamily; frame: Buffer; messages: SessionMessage[] }
  | { kind: 'decode_error'; family: ProtocolFamily; frame: Buffer; error: DecodeError }
  | { kind: 'junk'; family: ProtocolFamily; bytes: Buffer; reason: string }
  | { kind: 'undetected'; name: 'jt808' | 'http' | 'tls' | 'ssh' | 'unknown_protocol'; reason: string; bytes: Buffer };

/** also the framers' limits: one object shared by every stream built with it, not one per framer */
export interface ProtocolStreamOptions extends FramerLimits {
  modules: Readonly<Record<ProtocolFamily, ProtocolModule>>;
  /** bytes a connection may send before its family must be known */
  maxBytesBeforeDetect: number;
  sessionOptions?: SessionOptions;
  /** skip detection (`tkgw decode --protocol X`) */
  family?: ProtocolFamily;
}

export class ProtocolStream {
  private detectBuffer: Buffer | undefined;
  private currentFamily: ProtocolFamily | undefined;
  private framer: Framer | undefined;
  private currentSession: ProtocolSession | undefined;
  /** set once detection failed on a TCP stream: everything after is ignored */
  private rejected = false;

  constructor(private readonly options: ProtocolStreamOptions) {
    if (options.family) this.start(options.family);
  }

  get family(): ProtocolFamily | undefined {
    return this.currentFamily;
  }

  get session(): ProtocolSession | undefined {
    return this.currentSession;
  }

  get pendingBytes(): number {
    return (this.framer?.pendingBytes ?? 0) + (this.detectBuffer?.length ?? 0);
  }

  /** A chunk of a TCP stream. */
  push(chunk: Buffer, receivedAt: Date): StreamEvent[] {
    if (this.rejected) return [];
    if (this.framer) return this.decodeOutputs(this.framer.push(chunk), receivedAt);
    const buffered = this.detectBuffer ? Buffer.concat([this.detectBuffer, chunk]) : chunk;
    const detection = detectProtocol(buffered, buffered.length >= this.options.maxBytesBeforeDetect);
    switch (detection.kind) {
      case 'need_more':
        this.detectBuffer = buffered;
        return [];
      case 'family': {
        this.detectBuffer = undefined;
        this.start(detection.family);
        const framer = this.framer as unknown as Framer;
        return [{ kind: 'detected', family: detection.family }, ...this.decodeOutputs(framer.push(buffered), receivedAt)];
      }
      default:
        this.rejected = true;
        this.detectBuffer = undefined;
        return [
          {
            kind: 'undetected',
            name: detection.kind === 'unsupported' ? detection.name : 'unknown_protocol',
            reason: detection.reason,
            bytes: buffered,
          },
        ];
    }
  }

  /** End of the TCP stream: what is left is flushed (some families accept an unterminated frame). */
  end(receivedAt: Date): StreamEvent[] {
    if (this.framer) return this.decodeOutputs(this.framer.end(), receivedAt);
    if (this.detectBuffer && this.detectBuffer.length > 0) {
      const bytes = this.detectBuffer;
      this.detectBuffer = undefined;
      const detection = detectProtocol(bytes, true);
      if (detection.kind === 'family') {
        this.start(detection.family);
        const framer = this.framer as unknown as Framer;
        return [
          { kind: 'detected', family: detection.family },
          ...this.decodeOutputs([...framer.push(bytes), ...framer.end()], receivedAt),
        ];
      }
      return [{ kind: 'undetected', name: detection.kind === 'unsupported' ? detection.name : 'unknown_protocol', reason: detection.kind === 'need_more' ? 'incomplete' : detection.reason, bytes }];
    }
    return [];
  }

  /** One UDP datagram = one message (PROTOCOLS.md 2); detection runs per datagram. */
  datagram(bytes: Buffer, receivedAt: Date): StreamEvent[] {
    const events: StreamEvent[] = [];
    let family = this.options.family;
    if (!family) {
      const detection = detectProtocol(bytes, true);
      if (detection.kind !== 'family') {
        return [{ kind: 'undetected', name: detection.kind === 'unsupported' ? detection.name : 'unknown_protocol', reason: detection.kind === 'need_more' ? 'incomplete' : detection.reason, bytes }];
      }
      family = detection.family;
    }
    if (family !== this.currentFamily) {
      this.start(family);
      events.push({ kind: 'detected', family });
    }
    // A fresh framer per datagram so nothing leaks from one datagram into the next.
    const framer = this.options.modules[family].createFramer(this.options);
    events.push(...this.decodeOutputs([...framer.push(bytes), ...framer.end()], receivedAt));
    return events;
  }

  private start(family: ProtocolFamily): void {
    const module = this.options.modules[family];
    this.currentFamily = family;
    this.framer = module.createFramer(this.options);
    this.currentSession = module.createSession(this.options.sessionOptions);
  }

  private decodeOutputs(outputs: FramerOutput[], receivedAt: Date): StreamEvent[] {
    const family = this.currentFamily as ProtocolFamily;
    const session = this.currentSession as ProtocolSession;
    const events: StreamEvent[] = [];
    for (const out of outputs) {
      if (out.kind === 'junk') {
        events.push({ kind: 'junk', family, bytes: out.bytes, reason: out.reason });
        continue;
      }
      const result = session.handleFrame(out.frame, receivedAt);
      if (result.error) events.push({ kind: 'decode_error', family, frame: out.frame, error: result.error });
      else events.push({ kind: 'messages', family, frame: out.frame, messages: result.messages });
    }
    return events;
  }
}
