/**
 * Engine-cut / restore commands (CONTRACT section 4): intake, authorization, guards, supersede,
 * send, correlate, confirm, expire. An engine cut is the most dangerous thing the gateway does, so
 * every decision is re-checked right before a send and every transition is persisted and audited.
 */
import type { DecodedMessage, EncodedCommand } from '../protocol/types.js';
import type { LiveDevice, RegistryListener } from '../ingest/registry.js';
import type { NormalizedRecord } from '../ingest/record.js';
import { OPEN_COMMAND_STATES, type CommandRow, type CommandState, type NewOutboxRow, type OutboxRow } from '../store/types.js';
import { parseCommandRequest, type CommandAction, type CommandRequest, type Guards, type RejectReason } from './request.js';

export const FINAL_STATES: readonly CommandState[] = ['confirmed', 'rejected', 'expired', 'failed', 'superseded'];

export interface CommandStore {
  insertCommand(row: CommandRow, audit: { reason?: string | null; detail?: string | null }): void;
  updateCommand(id: string, patch: Partial<Omit<CommandRow, 'id'>>, audit: { state: CommandState; reason?: string | null; detail?: string | null }): CommandRow;
  getCommand(id: string): CommandRow | undefined;
  listCommands(filter?: { deviceId?: string; states?: readonly CommandState[]; limit?: number }): CommandRow[];
  enqueue(row: NewOutboxRow): Promise<OutboxRow>;
}

export interface CommandDevices {
  get(deviceId: string): LiveDevice | undefined;
  subscribe(listener: RegistryListener): () => void;
}

export interface CommandOptions {
  key?: Buffer;
  maxAttempts: number;
  ackTimeoutSec: number;
  confirmTimeoutSec: number;
  maxExpirySec: number;
  defaultGuards: Guards;
  maxPayloadBytes: number;
  maxPending: number;
  /** a UDP device can only be reached right after it sent a datagram (carrier NAT) */
  udpNatWindowSec: number;
  /** how often waiting commands are re-evaluated and deadlines checked */
  tickMs?: number;
}

export interface CommandLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ResponseRoute {
  responseTopic?: string;
  correlationData?: Buffer;
}

export interface CommandResult {
  v: 1;
  id: string | null;
  deviceId: string | null;
  action: string | null;
  state: CommandState;
  reason?: string;
  ts: string;
  attempt?: number;
  deviceReply?: string;
}

export interface CommandDeps {
  store: CommandStore;
  devices: CommandDevices;
  log: CommandLogger;
  now: () => number;
  /** MQTT 5 request/response: best-effort direct reply besides the durable `up/cmd/res` */
  respond?: (route: ResponseRoute, result: CommandResult) => void;
}

/** The relay state a successful command leaves the vehicle in. */
const TARGET_RELAY: Record<CommandAction, 'cut' | 'normal'> = { engine_stop: 'cut', engine_resume: 'normal' };

/** Largest tolerated difference between the gateway clock and fresh GNSS time. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** A clock before this is certainly unset (a Pi without RTC boots in 1970 or at its image date). */
const EARLIEST_PLAUSIBLE_MS = Date.UTC(2025, 0, 1);

interface Inflight {
  commandRef: number;
  correlation: EncodedCommand['correlation'];
  sentAtMs: number;
  expectsReply: boolean;
}

export class CommandService {
  private readonly inflight = new Map<string, Inflight>();
  private readonly routes = new Map<string, ResponseRoute>();
  private nextRef = 1;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** last observed skew between gateway clock and a fresh valid GNSS fix, ms */
  private clockSkewMs: number | undefined;
  /**
   * Devices with an open command. Every tracker record passes through onRecord, so the common
   * case (no command for this device) must not touch the database.
   */
  private readonly openDevices = new Map<string, number>();

  constructor(
    private readonly options: CommandOptions,
    private readonly deps: CommandDeps,
  ) {}

  start(): void {
    // Restart recovery: nothing that may already have reached a device is sent again. Commands that
    // were sent keep waiting for their reply/confirmation; the rest are re-evaluated.
    const open = this.deps.store.listCommands({ states: OPEN_COMMAND_STATES, limit: this.options.maxPending });
    for (const c of open) {
      this.nextRef = Math.max(this.nextRef, refOf(c) + 1);
      this.openDevices.set(c.deviceId, (this.openDevices.get(c.deviceId) ?? 0) + 1);
    }
    this.unsubscribe = this.deps.devices.subscribe({
      online: (device) => this.evaluateDevice(device.deviceId),
      record: (device, record, message) => this.onRecord(device, record, message),
    });
    this.timer = setInterval(() => {
      // A failing disk must not take the process down from a timer; health reports the store.
      try {
        this.tick();
      } catch (err) {
        this.deps.log.warn({ err: String(err) }, 'command tick failed');
      }
    }, this.options.tickMs ?? 1000);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Intake from `down/cmd/req` or `tkgw command`. Never throws for bad input: it rejects with a reason. */
  submit(payload: Buffer, route: ResponseRoute = {}): CommandResult {
    const now = this.deps.now();
    const parsed = parseCommandRequest(payload, { maxPayloadBytes: this.options.maxPayloadBytes, key: this.options.key });
    if (!parsed.ok) {
      return this.reject(parsed.id ?? null, parsed.deviceId ?? null, parsed.action ?? null, parsed.reason, parsed.detail, route);
    }
    const req = parsed.request;
    if (this.deps.store.getCommand(req.id)) {
      // At most once per id, whatever its state: a replayed request is answered, never re-run.
      return this.reject(req.id, req.deviceId, req.action, 'duplicate', 'this command id was already received', route, false);
    }
    const expiresMs = Date.parse(req.expiresAt);
    if (!this.clockTrusted(now)) {
      return this.reject(req.id, req.deviceId, req.action, 'clock_untrusted', 'gateway clock is not synchronized: expiry cannot be judged', route);
    }
    if (expiresMs <= now) return this.reject(req.id, req.deviceId, req.action, 'expired', `expired at ${req.expiresAt}`, route);
    if (expiresMs - now > this.options.maxExpirySec * 1000) {
      return this.reject(req.id, req.deviceId, req.action, 'invalid', `expiresAt is more than ${this.options.maxExpirySec} s ahead`, route);
    }
    if (!this.deps.devices.get(req.deviceId)) {
      return this.reject(req.id, req.deviceId, req.action, 'unknown_device', 'no tracker with this id has reported to this gateway', route);
    }
    const pending = this.deps.store.listCommands({ states: OPEN_COMMAND_STATES, limit: this.options.maxPending + 1 });
    if (pending.length >= this.options.maxPending) {
      return this.reject(req.id, req.deviceId, req.action, 'invalid', `too many pending commands (${this.options.maxPending})`, route);
    }

    const row: CommandRow = {
      id: req.id,
      deviceId: req.deviceId,
      action: req.action,
      state: 'accepted',
      reason: null,
      request: JSON.stringify(req),
      createdMs: now,
      updatedMs: now,
      expiresMs,
      attempts: 0,
      correlation: null,
      deviceReply: null,
    };
    this.deps.store.insertCommand(row, { detail: `issuedBy=${req.issuedBy ?? 'unknown'}` });
    this.openDevices.set(row.deviceId, (this.openDevices.get(row.deviceId) ?? 0) + 1);
    if (route.responseTopic) this.routes.set(req.id, route);
    this.deps.log.info({ id: req.id, deviceId: req.deviceId, action: req.action, issuedBy: req.issuedBy }, 'command accepted');
    const result = this.publish(row, undefined);

    // Supersede: only the newest relay command for a device may still act.
    for (const older of pending) {
      if (older.deviceId === req.deviceId && older.id !== req.id) {
        this.transition(older, 'superseded', `superseded by ${req.id}`);
      }
    }
    this.evaluate(req.id);
    return result;
  }

  /** Re-checks the guards of every open command of a device (it came online, or moved). */
  evaluateDevice(deviceId: string): void {
    if (!this.openDevices.has(deviceId)) return;
    for (const c of this.deps.store.listCommands({ deviceId, states: ['accepted', 'waiting'] })) this.evaluate(c.id);
  }

  private tick(): void {
    const now = this.deps.now();
    for (const c of this.deps.store.listCommands({ states: OPEN_COMMAND_STATES, limit: this.options.maxPending })) {
      if (now >= c.expiresMs && (c.state === 'accepted' || c.state === 'waiting')) {
        this.transition(c, 'expired', 'expired before it could be sent safely');
        continue;
      }
      if (c.state === 'accepted' || c.state === 'waiting') {
        this.evaluate(c.id);
      } else if (c.state === 'sent') {
        const inflight = this.inflight.get(c.id);
        if (inflight?.expectsReply && now - inflight.sentAtMs >= this.options.ackTimeoutSec * 1000) {
          if (c.attempts < this.options.maxAttempts && now < c.expiresMs) {
            this.deps.log.info({ id: c.id, attempt: c.attempts }, 'no reply from the device: retrying');
            this.inflight.delete(c.id);
            this.transition(c, 'waiting', 'no_reply_retrying');
            this.evaluate(c.id);
          } else {
            this.inflight.delete(c.id);
            this.transition(c, 'failed', c.attempts >= this.options.maxAttempts ? 'attempts_exhausted' : 'expired_without_reply');
          }
        } else if (now - c.updatedMs >= this.options.confirmTimeoutSec * 1000) {
          this.inflight.delete(c.id);
          this.transition(c, 'failed', 'not_confirmed');
        }
      } else if (c.state === 'acked' && now - c.updatedMs >= this.options.confirmTimeoutSec * 1000) {
        this.inflight.delete(c.id);
        this.transition(c, 'failed', 'not_confirmed');
      }
    }
  }

  /** Guards are checked right before every send; a command that cannot go yet is `waiting`. */
  private evaluate(id: string): void {
    const c = this.deps.store.getCommand(id);
    if (!c || (c.state !== 'accepted' && c.state !== 'waiting')) return;
    const now = this.deps.now();
    if (now >= c.expiresMs) {
      this.transition(c, 'expired', 'expired before it could be sent safely');
      return;
    }
    const blocked = this.blockedBy(c, now);
    if (blocked) {
      if (c.state !== 'waiting' || c.reason !== blocked) this.transition(c, 'waiting', blocked);
      return;
    }
    this.send(c, now);
  }

  private blockedBy(c: CommandRow, now: number): string | undefined {
    if (!this.clockTrusted(now)) return 'clock_untrusted';
    const device = this.deps.devices.get(c.deviceId);
    if (!device || !device.online || !device.conn || device.conn.closed || !device.session) return 'device_offline';
    if (device.conn.transport === 'udp' && now - device.conn.lastSeenMs > this.options.udpNatWindowSec * 1000) {
      return 'device_unreachable_udp';
    }
    const guards = guardsOf(c, this.options.defaultGuards);
    const fix = device.lastFix;
    if (guards.requireFix) {
      if (!fix || !fix.valid) return 'no_valid_fix';
      if (now - fix.receivedAtMs > guards.maxFixAgeSec * 1000) return 'fix_too_old';
    }
    // Without a known speed the vehicle might be moving: an engine cut needs a reported speed.
    if (c.action === 'engine_stop') {
      if (!fix || fix.speedKmh === undefined) return 'speed_unknown';
      if (fix.speedKmh > guards.maxSpeedKmh) return 'speed_above_limit';
    }
    return undefined;
  }

  private send(c: CommandRow, now: number): void {
    const device = this.deps.devices.get(c.deviceId);
    const session = device?.session;
    const conn = device?.conn;
    if (!device || !session || !conn) return;
    const commandRef = this.nextRef++ >>> 0;
    let encoded: EncodedCommand;
    try {
      encoded = session.encodeRelay(c.action as CommandAction, { now: new Date(now), commandRef });
    } catch (err) {
      this.transition(c, 'failed', `cannot encode for ${device.protocol}: ${String(err)}`);
      return;
    }
    if (!conn.write(encoded.bytes)) {
      this.transition(c, 'waiting', 'device_offline');
      return;
    }
    this.inflight.set(c.id, { commandRef, correlation: encoded.correlation, sentAtMs: now, expectsReply: encoded.expectsReply });
    this.deps.log.info({ id: c.id, deviceId: c.deviceId, action: c.action, protocol: device.protocol, bytes: encoded.bytes.toString('hex') }, 'command sent');
    this.transition(c, 'sent', encoded.expectsReply ? null : 'protocol has no reply: confirmation from status', {
      attempts: c.attempts + 1,
      correlation: JSON.stringify({ ...encoded.correlation, commandRef }),
    });
  }

  private onRecord(device: LiveDevice, record: NormalizedRecord, message: DecodedMessage): void {
    this.observeClock(record, device.lastSeenMs);
    if (!this.openDevices.has(device.deviceId)) return;
    const open = this.deps.store.listCommands({ deviceId: device.deviceId, states: ['sent', 'acked', 'accepted', 'waiting'] });
    if (open.length === 0) return;
    const reply = message.commandReply;
    for (const c of open) {
      if (c.state === 'sent' && reply && this.matches(c, reply)) {
        const text = reply.text ?? [reply.command, ...(reply.echoFields ?? [])].filter(Boolean).join(',');
        if (reply.result === 'failure') {
          this.inflight.delete(c.id);
          this.transition(c, 'failed', 'device_refused', { deviceReply: text });
          continue;
        }
        this.transition(c, 'acked', null, { deviceReply: text });
        c.state = 'acked';
      }
      // Replies are not proof (PROTOCOLS.md 3.5): the relay bit of a later report is, so the
      // status carried inside the reply itself does not confirm.
      if ((c.state === 'sent' || c.state === 'acked') && record.type !== 'command_reply' && record.relay !== undefined && record.relay === TARGET_RELAY[c.action as CommandAction]) {
        this.inflight.delete(c.id);
        this.transition(this.deps.store.getCommand(c.id) ?? c, 'confirmed', null);
      }
    }
    // A moving vehicle that slowed down, or a fresh fix: waiting commands may go now.
    if (open.some((c) => c.state === 'accepted' || c.state === 'waiting')) this.evaluateDevice(device.deviceId);
  }

  private matches(c: CommandRow, reply: NonNullable<DecodedMessage['commandReply']>): boolean {
    const inflight = this.inflight.get(c.id);
    const correlation = inflight?.correlation ?? (c.correlation ? (JSON.parse(c.correlation) as EncodedCommand['correlation']) : undefined);
    if (!correlation) return false;
    switch (correlation.kind) {
      case 'gt06-flag':
        return reply.serverFlag === correlation.serverFlag;
      case 'h02-echo':
        return reply.command === correlation.command && (reply.commandTime === undefined || reply.commandTime === correlation.time);
      case 'none':
        return false;
    }
  }

  /** `recvMs`: the gateway clock at receipt (the registry's lastSeenMs for this record). */
  private observeClock(record: NormalizedRecord, recvMs: number): void {
    if (!record.valid || !record.fixTime) return;
    const fixMs = Date.parse(record.fixTime);
    // Only live fixes say anything about our clock; stored history is old by design.
    if (Number.isFinite(fixMs) && Number.isFinite(recvMs)) {
      const skew = recvMs - fixMs;
      if (Math.abs(skew) < 24 * 3600_000) this.clockSkewMs = skew;
    }
  }

  private clockTrusted(now: number): boolean {
    if (now < EARLIEST_PLAUSIBLE_MS) return false;
    return this.clockSkewMs === undefined || Math.abs(this.clockSkewMs) <= MAX_CLOCK_SKEW_MS;
  }

  private transition(c: CommandRow, state: CommandState, reason: string | null, patch: Partial<CommandRow> = {}): void {
    const now = this.deps.now();
    const updated = this.deps.store.updateCommand(c.id, { ...patch, state, reason, updatedMs: now }, { state, reason, detail: patch.deviceReply ?? null });
    this.deps.log.info({ id: c.id, deviceId: c.deviceId, state, reason }, 'command state');
    this.publish(updated, reason ?? undefined);
    if (FINAL_STATES.includes(state)) {
      this.routes.delete(c.id);
      if (!FINAL_STATES.includes(c.state)) {
        const left = (this.openDevices.get(c.deviceId) ?? 1) - 1;
        if (left > 0) this.openDevices.set(c.deviceId, left);
        else this.openDevices.delete(c.deviceId);
      }
    }
  }

  private reject(
    id: string | null,
    deviceId: string | null,
    action: string | null,
    reason: RejectReason,
    detail: string,
    route: ResponseRoute,
    persist = true,
  ): CommandResult {
    const now = this.deps.now();
    this.deps.log.warn({ id, deviceId, action, reason, detail }, 'command rejected');
    if (persist && id !== null && deviceId !== null && action !== null && !this.deps.store.getCommand(id)) {
      // Kept so a replay of the same id is answered `duplicate`, and for the audit trail.
      this.deps.store.insertCommand(
        { id, deviceId, action, state: 'rejected', reason, request: '{}', createdMs: now, updatedMs: now, expiresMs: now, attempts: 0, correlation: null, deviceReply: null },
        { reason, detail },
      );
    }
    const result: CommandResult = { v: 1, id, deviceId, action, state: 'rejected', reason: `${reason}: ${detail}`, ts: new Date(now).toISOString() };
    this.enqueueResult(result);
    if (route.responseTopic) this.deps.respond?.(route, result);
    return result;
  }

  private publish(row: CommandRow, reason: string | undefined): CommandResult {
    const result: CommandResult = {
      v: 1,
      id: row.id,
      deviceId: row.deviceId,
      action: row.action,
      state: row.state,
      ts: new Date(this.deps.now()).toISOString(),
    };
    if (reason) result.reason = reason;
    if (row.attempts > 0) result.attempt = row.attempts;
    if (row.deviceReply) result.deviceReply = row.deviceReply;
    this.enqueueResult(result);
    const route = this.routes.get(row.id);
    if (route) this.deps.respond?.(route, result);
    return result;
  }

  private enqueueResult(result: CommandResult): void {
    const now = this.deps.now();
    this.deps.store
      .enqueue({
        deviceId: result.deviceId,
        lane: 'evt',
        type: 'command_result',
        protected: true,
        receivedAtMs: now,
        payload: JSON.stringify({ ...result, type: 'command_result', receivedAt: result.ts }),
        raw: null,
      })
      .catch((err: unknown) => this.deps.log.warn({ id: result.id, err: String(err) }, 'command result not stored'));
  }
}

function guardsOf(c: CommandRow, defaults: Guards): Guards {
  try {
    const req = JSON.parse(c.request) as Partial<CommandRequest>;
    return { ...defaults, ...(req.guards ?? {}) };
  } catch {
    return defaults;
  }
}

function refOf(c: CommandRow): number {
  if (!c.correlation) return 0;
  try {
    const ref = (JSON.parse(c.correlation) as { commandRef?: number }).commandRef;
    return typeof ref === 'number' ? ref : 0;
  } catch {
    return 0;
  }
}
