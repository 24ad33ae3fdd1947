/**
 * One tracker connection (TCP) or UDP source: detect the family, frame, decode through the
 * family's session, commit every record, and only then write the ACKs the protocol requires.
 */
import { ProtocolStream, type ProtocolStreamOptions, type StreamEvent } from '../protocol/stream.js';
import type { DecodedMessage, ProtocolFamily, ProtocolSession, SessionMessage } from '../protocol/types.js';
import type { NewOutboxRow, OutboxRow } from '../store/types.js';
import type { Connection, ConnectionSink } from '../transport/types.js';
import { eventRow, laneFor, recordRow, toRecord, type NormalizedRecord } from './record.js';
import type { DeviceRegistry } from './registry.js';

export interface IngestLimits {
  maxFrameBytes: number;
  maxBytesBeforeDetect: number;
  detectTimeoutSec: number;
  loginTimeoutSec: number;
}

export interface DevicePolicy {
  allow: readonly string[];
  deny: readonly string[];
  duplicateLogin: 'replace' | 'reject';
}

export interface IngestStore {
  /**
   * `done` runs once after the row's transaction committed or failed, never inside this call;
   * 'gateway' rows (events no device would repeat) get more room before back-pressure refuses them
   */
  enqueueThen(row: NewOutboxRow, done: (err: unknown, row: OutboxRow | undefined) => void, origin?: 'device' | 'gateway'): void;
}

export interface IngestLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  isLevelEnabled?(level: string): boolean;
}

/** A bounded ring of recent ACK latencies (ms from frame receipt to ACK written). */
export class LatencyRing {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  constructor(size = 4096) {
    this.samples = new Float64Array(size);
  }
  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled++;
  }
  percentile(p: number): number | undefined {
    if (this.filled === 0) return undefined;
    const sorted = Array.from(this.samples.subarray(0, this.filled)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }
  reset(): void {
    this.next = 0;
    this.filled = 0;
  }
}

export interface IngestCounters {
  frames: Record<string, number>;
  records: number;
  events: number;
  acks: number;
  decodeErrors: Record<string, number>;
  crcMismatches: number;
  junkBytes: number;
  unattributed: number;
  denied: number;
  duplicateLogins: number;
  storeRejected: number;
  undetected: Record<string, number>;
  ackLatency: LatencyRing;
}

export function newIngestCounters(): IngestCounters {
  return {
    frames: {},
    records: 0,
    events: 0,
    acks: 0,
    decodeErrors: {},
    crcMismatches: 0,
    junkBytes: 0,
    unattributed: 0,
    denied: 0,
    duplicateLogins: 0,
    storeRejected: 0,
    undetected: {},
    ackLatency: new LatencyRing(),
  };
}

export interface ConnectionContext {
  limits: IngestLimits;
  /** what every connection's protocol stream is built with: one object for all of them */
  streamOptions: ProtocolStreamOptions;
  devices: DevicePolicy;
  store: IngestStore;
  registry: DeviceRegistry;
  counters: IngestCounters;
  log: IngestLogger;
  now: () => number;
}

/** After this many undecodable frames in a row, the peer is not a tracker we can serve. */
const MAX_CONSECUTIVE_ERRORS = 20;

interface PendingAck {
  /** rows of this frame not yet committed */
  waiting: number;
  failure: unknown;
  ack: Buffer | undefined;
  record: NormalizedRecord | undefined;
  message: DecodedMessage | undefined;
  deviceId: string | undefined;
  startedMs: number;
}

/** What the connection remembers about a device synchronously, to derive events in order. */
interface DeviceMemory {
  alarms: readonly string[] | undefined;
  ignition: boolean | undefined;
  relay: 'cut' | 'normal' | undefined;
}

export class TrackerConnection implements ConnectionSink {
  private readonly stream: ProtocolStream;
  private boundDeviceId: string | undefined;
  /**
   * Event memory of the device this connection carries; a connection nearly always carries one
   * device, so others (a frame naming another id) get a map only when they appear.
   */
  private memoryId: string | undefined;
  private memoryOfBound: DeviceMemory | undefined;
  private otherMemory: Map<string, DeviceMemory> | undefined;
  private consecutiveErrors = 0;
  /** frames whose rows are being committed, oldest first: ACKs leave in frame order */
  private readonly acks: PendingAck[] = [];
  private deadline: NodeJS.Timeout | undefined;
  /** hot paths build no log objects or hex strings unless debug logging is on */
  private readonly debug: boolean;

  constructor(
    private readonly conn: Connection,
    private readonly ctx: ConnectionContext,
  ) {
    this.stream = new ProtocolStream(ctx.streamOptions);
    this.debug = ctx.log.isLevelEnabled?.('debug') ?? false;
    // UDP sources are forgotten by the listener's idle sweep instead.
    if (conn.transport === 'tcp') this.armDeadline(ctx.limits.detectTimeoutSec, 'detect_timeout');
  }

  get deviceId(): string | undefined {
    return this.boundDeviceId;
  }

  data(bytes: Buffer): void {
    if (this.conn.closed) return;
    const receivedAt = new Date(this.ctx.now());
    const events = this.conn.transport === 'udp' ? this.stream.datagram(bytes, receivedAt) : this.stream.push(bytes, receivedAt);
    this.handleEvents(events, receivedAt);
  }

  closed(reason: string): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    const pending = this.stream.pendingBytes;
    if (pending > 0) this.ctx.counters.junkBytes += pending;
    if (this.boundDeviceId) this.ctx.registry.unbind(this.boundDeviceId, this.conn, reason);
  }

  private armDeadline(seconds: number, reason: string): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      if (!this.boundDeviceId) this.conn.close(reason);
    }, seconds * 1000);
    this.deadline.unref?.();
  }

  private handleEvents(events: StreamEvent[], receivedAt: Date): void {
    const ctx = this.ctx;
    for (const event of events) {
      if (this.conn.closed) return;
      switch (event.kind) {
        case 'detected':
          if (this.debug) ctx.log.debug({ conn: this.conn.id, family: event.family }, 'protocol detected');
          if (this.conn.transport === 'tcp' && !this.boundDeviceId) this.armDeadline(ctx.limits.loginTimeoutSec, 'login_timeout');
          break;
        case 'undetected':
          ctx.counters.undetected[event.name] = (ctx.counters.undetected[event.name] ?? 0) + 1;
          if (this.conn.transport === 'tcp') {
            ctx.log.info({ conn: this.conn.id, remote: this.conn.remote, why: event.reason }, 'not a tracker: closing');
            this.conn.close(event.name);
          } else {
            if (this.debug) ctx.log.debug({ conn: this.conn.id, remote: this.conn.remote, why: event.reason }, 'undetectable datagram dropped');
          }
          return;
        case 'junk':
          ctx.counters.junkBytes += event.bytes.length;
          if (this.debug) ctx.log.debug({ conn: this.conn.id, bytes: event.bytes.length, why: event.reason }, 'discarded bytes');
          break;
        case 'decode_error':
          ctx.counters.frames[event.family] = (ctx.counters.frames[event.family] ?? 0) + 1;
          ctx.counters.decodeErrors[event.family] = (ctx.counters.decodeErrors[event.family] ?? 0) + 1;
          if (this.debug) ctx.log.debug({ conn: this.conn.id, family: event.family, err: event.error.message, hex: event.frame.subarray(0, 64).toString('hex') }, 'undecodable frame');
          if (++this.consecutiveErrors >= MAX_CONSECUTIVE_ERRORS) this.conn.close('decode_errors');
          break;
        case 'messages':
          ctx.counters.frames[event.family] = (ctx.counters.frames[event.family] ?? 0) + 1;
          this.consecutiveErrors = 0;
          this.handleMessages(event.family, event.frame, event.messages, receivedAt);
          break;
      }
    }
  }

  private handleMessages(family: ProtocolFamily, frame: Buffer, messages: SessionMessage[], receivedAt: Date): void {
    const ctx = this.ctx;
    const session = this.stream.session as ProtocolSession;
    const nowMs = receivedAt.getTime();
    const sessionId = session.deviceId;
    if (sessionId !== undefined && sessionId !== this.boundDeviceId && !this.bind(sessionId, family, session, nowMs)) return;

    for (const { message, ack } of messages) {
      if (message.crcValid === false) ctx.counters.crcMismatches++;
      const deviceId = message.deviceId ?? sessionId;
      if (deviceId === undefined) {
        // GT06 frames before a login carry no identity (PROTOCOLS.md 2): unattributable. No ACK, so
        // the unit reconnects and logs in again instead of believing it was heard.
        ctx.counters.unattributed++;
        continue;
      }
      if (!this.allowed(deviceId)) {
        ctx.counters.denied++;
        continue;
      }
      const record = toRecord(message, deviceId, receivedAt);
      const memory = this.memoryFor(deviceId);
      const { lane, protected: isProtected } = laneFor({ record, previousAlarms: memory.alarms });
      const events = derivedEvents(record, memory);
      const pending: PendingAck = { waiting: 1 + events.length, failure: undefined, ack, record, message, deviceId, startedMs: nowMs };
      this.acks.push(pending);
      this.enqueue(recordRow(record, lane, isProtected, nowMs, frame), pending);
      for (const event of events) {
        this.enqueue(eventRow(event, nowMs), pending);
        ctx.counters.events++;
      }
      memory.alarms = record.alarms;
      if (record.ignition !== undefined) memory.ignition = record.ignition;
      if (record.relay !== undefined) memory.relay = record.relay;
    }
  }

  private enqueue(row: NewOutboxRow, pending: PendingAck): void {
    const done = (err: unknown): void => {
      if (err !== undefined && pending.failure === undefined) pending.failure = err;
      pending.waiting--;
      this.releaseAcks();
    };
    try {
      this.ctx.store.enqueueThen(row, done);
    } catch (err) {
      queueMicrotask(() => done(err));
    }
  }

  /**
   * Durable before acknowledged: the ACK for a frame is written only after every row it produced
   * has committed, and ACKs leave in frame order.
   */
  private releaseAcks(): void {
    const acks = this.acks;
    while (acks.length > 0 && (acks[0] as PendingAck).waiting === 0) {
      const p = acks.shift() as PendingAck;
      if (p.failure !== undefined) {
        this.ctx.counters.storeRejected++;
        this.ctx.log.warn({ conn: this.conn.id, deviceId: p.deviceId, err: String(p.failure) }, 'record not stored: no ACK sent');
        continue;
      }
      this.ctx.counters.records++;
      if (p.deviceId && p.record && p.message) {
        this.ctx.registry.noteRecord(p.deviceId, p.record, p.message, p.startedMs);
      }
      if (p.ack && !this.conn.closed) {
        if (this.conn.write(p.ack)) {
          this.ctx.counters.acks++;
          this.ctx.counters.ackLatency.add(this.ctx.now() - p.startedMs);
        }
      }
    }
    // An emptied array keeps the backing store it grew to (~110 bytes, per connection until its
    // next report); a length of 0 hands it back.
    if (acks.length === 0) acks.length = 0;
  }

  private allowed(deviceId: string): boolean {
    const { allow, deny } = this.ctx.devices;
    if (deny.includes(deviceId)) return false;
    return allow.length === 0 || allow.includes(deviceId);
  }

  private bind(deviceId: string, family: ProtocolFamily, session: ProtocolSession, nowMs: number): boolean {
    const ctx = this.ctx;
    if (!this.allowed(deviceId)) {
      ctx.counters.denied++;
      ctx.log.warn({ conn: this.conn.id, remote: this.conn.remote, deviceId }, 'device not allowed: closing');
      this.conn.close('denied');
      return false;
    }
    const existing = ctx.registry.get(deviceId);
    if (existing?.conn && existing.conn !== this.conn && !existing.conn.closed) {
      ctx.counters.duplicateLogins++;
      if (ctx.devices.duplicateLogin === 'reject') {
        ctx.log.warn({ conn: this.conn.id, remote: this.conn.remote, deviceId, holder: existing.conn.remote }, 'identity already connected: rejecting the newcomer');
        this.conn.close('duplicate_login');
        return false;
      }
    }
    if (this.boundDeviceId) ctx.registry.unbind(this.boundDeviceId, this.conn, 'identity_changed');
    this.boundDeviceId = deviceId;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    if (this.memoryId !== undefined && this.memoryId !== deviceId && this.memoryOfBound) {
      (this.otherMemory ??= new Map()).set(this.memoryId, this.memoryOfBound);
    }
    this.otherMemory?.delete(deviceId);
    this.memoryId = deviceId;
    this.memoryOfBound = this.freshMemory(deviceId);
    const previous = ctx.registry.bind(deviceId, family, this.conn, session, nowMs);
    if (previous) {
      // A unit that reconnects before its old TCP connection timed out is the common case.
      ctx.log.info({ deviceId, old: previous.remote, new: this.conn.remote }, 'device reconnected: closing its previous connection');
      previous.close('replaced');
    }
    ctx.log.info({ conn: this.conn.id, remote: this.conn.remote, deviceId, family }, 'device identified');
    return true;
  }

  private memoryFor(deviceId: string): DeviceMemory {
    if (deviceId === this.memoryId && this.memoryOfBound) return this.memoryOfBound;
    if (this.memoryId === undefined) {
      this.memoryId = deviceId;
      this.memoryOfBound = this.freshMemory(deviceId);
      return this.memoryOfBound;
    }
    let m = this.otherMemory?.get(deviceId);
    if (!m) {
      m = this.freshMemory(deviceId);
      (this.otherMemory ??= new Map()).set(deviceId, m);
    }
    return m;
  }

  private freshMemory(deviceId: string): DeviceMemory {
    const device = this.ctx.registry.get(deviceId);
    return { alarms: device?.alarms, ignition: device?.ignition, relay: device?.relay };
  }
}

/** Ignition and relay transitions become events on `up/evt` (CONTRACT section 3). */
type DerivedEvent = { v: 1; type: 'ignition_on' | 'ignition_off' | 'relay_changed'; deviceId: string | null; receivedAt: string; [k: string]: unknown };
const NO_EVENTS: readonly DerivedEvent[] = [];

function derivedEvents(record: NormalizedRecord, memory: DeviceMemory): readonly DerivedEvent[] {
  const ignitionChanged = record.ignition !== undefined && memory.ignition !== undefined && record.ignition !== memory.ignition;
  const relayChanged = record.relay !== undefined && memory.relay !== undefined && record.relay !== memory.relay;
  if (!ignitionChanged && !relayChanged) return NO_EVENTS;
  const events: DerivedEvent[] = [];
  if (ignitionChanged) {
    events.push({ v: 1, type: record.ignition ? 'ignition_on' : 'ignition_off', deviceId: record.deviceId, receivedAt: record.receivedAt, fixTime: record.fixTime });
  }
  if (relayChanged) {
    events.push({ v: 1, type: 'relay_changed', deviceId: record.deviceId, receivedAt: record.receivedAt, relay: record.relay, previous: memory.relay });
  }
  return events;
}
