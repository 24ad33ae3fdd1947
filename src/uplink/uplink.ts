/**
 * Store-and-forward uplink to the cloud MQTT broker (CONTRACT section 3).
 *
 * The outbox is the only queue: batches are read from it and published only while connected, at
 * most `inflightWindow` batches awaiting PUBACK, so mqtt.js's in-memory offline queue is never
 * used. A record leaves the outbox on PUBACK (`ackMode: puback`) or when `down/ack` covers its seq
 * (`ackMode: app`). Each connection gets a fresh mqtt.js client, so nothing mqtt.js buffered for a
 * dead connection is replayed behind our back; whatever was not acknowledged is read again from the
 * outbox with its original seq. Duplicates are therefore possible, but only within the
 * unacknowledged window.
 *
 * What goes first is `BatchPlanner`'s business (evt, then live, then paced history).
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { ByteBudget } from './budget.js';
import { UPLINK_META, type UplinkOutbox } from './outbox.js';
import { resolveUplinkOptions, type ResolvedUplinkOptions, type UplinkOptions } from './options.js';
import { BatchPlanner, type PlannedBatch } from './planner.js';
import { batchEnvelope, compressedTopic, recordJson, statusPayload, topicRoot, topics, type TopicSet } from './topics.js';

export type { UplinkOutbox } from './outbox.js';
export type { UplinkOptions } from './options.js';

export interface UplinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface UplinkDeps {
  outbox: UplinkOutbox;
  log: UplinkLogger;
  now: () => number;
}

export interface UplinkState {
  connected: boolean;
  session: number;
  lastAckAt: string | null;
  /** batches awaiting PUBACK */
  inflight: number;
  /** ackMode app: batches PUBACKed, not yet covered by `down/ack` */
  awaitingCloudAck: number;
  /** records published (resends included) */
  published: number;
  /** records acknowledged by PUBACK */
  acked: number;
  reconnects: number;
  lastError: string | null;
  protocolVersion: 5 | 4;
  /** effective in-flight window (inflightWindow capped by the broker's Receive Maximum) */
  window: number;
  bytesSentToday: number;
  bytesSentMonth: number;
  /** history is held back until a budget reset */
  budgetExhausted: boolean;
}

export interface CommandRequestMeta {
  /** MQTT 5 request/response: where the requester wants the result */
  responseTopic?: string;
  correlationData?: Buffer;
}

export type CommandRequestHandler = (payload: Buffer, meta: CommandRequestMeta) => void;

interface InflightBatch {
  seqs: number[];
  maxSeq: number;
  records: number;
  sentAtMs: number;
}

/** How long stop() waits for the broker to take the retained offline status before ending anyway. */
const GOODBYE_TIMEOUT_MS = 2000;
/** Persistent session so commands the cloud queued while the depot was offline still arrive. */
const SESSION_EXPIRY_SEC = 7 * 24 * 3600;
/**
 * ackMode app: batches PUBACKed but not yet covered by `down/ack`. At the bound, publishing pauses
 * until the cloud acknowledges (or appAckTimeoutSec passes and the rows go again): a cloud that
 * stopped acknowledging must not make the gateway resend an unbounded history on every timeout.
 */
const APP_UNACKED_MAX_BATCHES = 4096;
/** mqtt.js reason/return codes meaning "this broker does not speak MQTT 5". */
const UNSUPPORTED_PROTOCOL_CODES = new Set<unknown>([1, 132]);

export class Uplink {
  private readonly options: ResolvedUplinkOptions;
  private readonly topicSet: TopicSet;
  private readonly budget: ByteBudget;
  private readonly planner: BatchPlanner;
  private client: MqttClient | undefined;
  private connected = false;
  private connectedAtMs = 0;
  private stopped = true;
  private session = 0;
  private protocolVersion: 5 | 4;
  private window: number;
  private readonly inflight = new Map<number, InflightBatch>();
  /** ackMode app, oldest first: PUBACKed batches the cloud has not covered with `down/ack` yet */
  private awaitingCloud: Array<{ maxSeq: number; pubackAtMs: number }> = [];
  private nextInflightId = 1;
  private batchCounter = 0;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private pumpAtMs = Infinity;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private unsubscribeCommit: (() => void) | undefined;
  private pumping = false;
  private readonly counters = { published: 0, acked: 0, reconnects: 0 };
  private lastAckAt: string | null = null;
  private lastError: string | null = null;
  private commandHandler: CommandRequestHandler | undefined;

  constructor(
    options: UplinkOptions,
    private readonly deps: UplinkDeps,
  ) {
    this.options = resolveUplinkOptions(options);
    const o = this.options;
    this.topicSet = topics(topicRoot(o.topicRoot, o.tenant, o.gatewayId));
    this.protocolVersion = o.protocolVersion;
    this.window = o.inflightWindow;
    this.budget = new ByteBudget(deps.outbox, { perDay: o.budgetBytesPerDay, perMonth: o.budgetBytesPerMonth }, deps.now);
    this.planner = new BatchPlanner(deps.outbox, o, this.budget, deps.now);
    this.session = Number(deps.outbox.getMeta(UPLINK_META.session) ?? 0) || 0;
  }

  get topics(): TopicSet {
    return this.topicSet;
  }

  /** Never throws: configuration and network problems are logged and shown in state(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.options.disabledReason) {
      this.fail(`uplink disabled by its configuration: ${this.options.disabledReason}`);
      return;
    }
    this.unsubscribeCommit = this.deps.outbox.onCommit(() => this.schedulePump(0));
    // Checked a few times per timeout so a timeout is noticed within ~1.25 x its length.
    const shortestTimeoutMs = Math.min(this.options.publishTimeoutSec, this.options.appAckTimeoutSec) * 1000;
    const watchEveryMs = Math.max(100, Math.min(1000, shortestTimeoutMs / 4));
    this.watchdogTimer = setInterval(() => this.watchdog(), watchEveryMs);
    this.watchdogTimer.unref();
    this.connect();
  }

  /** Publishes the retained offline status (when connected), then ends the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeCommit?.();
    this.unsubscribeCommit = undefined;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.reconnectTimer = this.pumpTimer = this.watchdogTimer = undefined;
    this.budget.flush();
    const client = this.client;
    this.client = undefined;
    this.inflight.clear();
    this.awaitingCloud = [];
    if (!client) return;
    if (this.connected) {
      this.connected = false;
      // A clean goodbye: a normal DISCONNECT suppresses the LWT, so the offline status is explicit.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS);
        client.publish(this.topicSet.status, this.status('offline'), { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          client.end(true);
          resolve();
        }, GOODBYE_TIMEOUT_MS);
        client.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } else {
      await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    }
  }

  /** `down/cmd/req` messages go to `handler` (the commands layer); one handler, the last set wins. */
  onCommandRequest(handler: CommandRequestHandler): void {
    this.commandHandler = handler;
  }

  state(): UplinkState {
    return {
      connected: this.connected,
      session: this.session,
      lastAckAt: this.lastAckAt,
      inflight: this.inflight.size,
      awaitingCloudAck: this.awaitingCloud.length,
      published: this.counters.published,
      acked: this.counters.acked,
      reconnects: this.counters.reconnects,
      lastError: this.lastError,
      protocolVersion: this.protocolVersion,
      window: this.window,
      bytesSentToday: this.budget.bytesToday,
      bytesSentMonth: this.budget.bytesMonth,
      budgetExhausted: this.budget.exhausted(),
    };
  }

  /** `up/health`: QoS 0, dropped while offline (the next tick carries fresher figures anyway). */
  publishHealth(payload: object): void {
    this.publishDirect(this.topicSet.health, JSON.stringify({ v: 1, gw: this.options.gatewayId, ...payload }), { qos: 0 });
  }

  /**
   * MQTT 5 request/response: a command result also goes to the requester's response topic. Best
   * effort (dropped while offline): the durable copy travels through the outbox to `up/cmd/res`.
   */
  publishResponse(meta: CommandRequestMeta, payload: object): void {
    if (!meta.responseTopic) return;
    const opts: IClientPublishOptions = { qos: 1 };
    if (this.protocolVersion === 5 && meta.correlationData) opts.properties = { correlationData: meta.correlationData };
    this.publishDirect(meta.responseTopic, JSON.stringify(payload), opts);
  }

  resetDailyBudget(): void {
    this.budget.resetDaily();
    this.schedulePump(0);
  }

  resetMonthlyBudget(): void {
    this.budget.resetMonthly();
    this.schedulePump(0);
  }

  private status(state: 'online' | 'offline'): string {
    return statusPayload(state, this.session, this.options.version, new Date(this.deps.now()));
  }

  private publishDirect(topic: string, body: string, opts: IClientPublishOptions): void {
    if (!this.connected || !this.client) return;
    this.budget.add(Buffer.byteLength(body) + topic.length);
    this.client.publish(topic, body, opts);
  }

  /**
   * Credentials are read at each attempt, so fixing a file heals the uplink without a restart.
   * Returns undefined (and reports) when one cannot be read.
   */
  private readCredentials(): Pick<IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'> | undefined {
    const o = this.options;
    const read = (what: string, path: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new Error(`cannot read uplink ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    };
    try {
      const creds: Pick<IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'> = {};
      if (o.username) creds.username = o.username;
      if (o.passwordFile) creds.password = read('password file', o.passwordFile).toString('utf8').replace(/\r?\n$/, '');
      else if (o.password) creds.password = o.password;
      if (o.caFile) creds.ca = read('CA file', o.caFile);
      if (o.certFile) creds.cert = read('certificate file', o.certFile);
      if (o.keyFile) creds.key = read('key file', o.keyFile);
      return creds;
    } catch (err) {
      this.fail((err as Error).message);
      return undefined;
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const o = this.options;
    if (!/^mqtts?:\/\/[^/\s]+/.test(o.url)) {
      // Not retried: a wrong URL does not fix itself.
      this.fail(`bad uplink url ${JSON.stringify(o.url)}: expected mqtt://host[:port] or mqtts://host[:port]`);
      return;
    }
    const creds = this.readCredentials();
    if (!creds) {
      this.scheduleReconnect();
      return;
    }
    // +1 per connection attempt: the LWT must carry the number before any CONNACK exists.
    this.session = this.deps.outbox.incrementCounter(UPLINK_META.session);
    const opts: IClientOptions = {
      ...creds,
      clientId: o.gatewayId,
      protocolVersion: this.protocolVersion,
      clean: false,
      keepalive: o.keepaliveSec,
      // Reconnects are ours (backoff with jitter, a fresh client each time).
      reconnectPeriod: 0,
      connectTimeout: Math.min(30_000, Math.max(5000, o.publishTimeoutSec * 1000)),
      queueQoSZero: false,
      rejectUnauthorized: o.rejectUnauthorized,
      will: { topic: this.topicSet.status, payload: Buffer.from(this.status('offline')), qos: 1, retain: true },
    };
    if (this.protocolVersion === 5) opts.properties = { sessionExpiryInterval: SESSION_EXPIRY_SEC };
    let client: MqttClient;
    try {
      client = mqtt.connect(o.url, opts);
    } catch (err) {
      this.fail(`bad uplink url ${JSON.stringify(o.url)}: ${(err as Error).message}`);
      return;
    }
    this.client = client;
    client.on('connect', (connack) => {
      if (this.client === client) this.onConnected(client, connack.properties?.receiveMaximum);
    });
    client.on('message', (topic, payload, packet) => {
      if (this.client === client) this.onMessage(topic, payload, packet.properties);
    });
    client.on('error', (err) => {
      if (this.client !== client) return;
      const code = (err as { code?: unknown }).code;
      if (this.protocolVersion === 5 && UNSUPPORTED_PROTOCOL_CODES.has(code)) {
        this.deps.log.warn({ url: o.url }, 'broker refused MQTT 5: falling back to 3.1.1');
        this.protocolVersion = 4;
      }
      this.lastError = describeError(err);
      this.deps.log.warn({ err: this.lastError, url: o.url }, 'uplink error');
    });
    client.on('close', () => {
      if (this.client === client) this.onDisconnected(client);
    });
  }

  private onConnected(client: MqttClient, receiveMaximum: number | undefined): void {
    this.connected = true;
    this.connectedAtMs = this.deps.now();
    this.lastError = null;
    this.window = Math.max(1, Math.min(this.options.inflightWindow, receiveMaximum ?? Infinity));
    const stats = this.deps.outbox.stats();
    // Everything committed by now is history for this connection; later commits are live.
    this.planner.restart(stats.lastSeq);
    this.awaitingCloud = [];
    this.deps.log.info({ url: this.options.url, session: this.session, window: this.window, backlogRows: stats.backlog.rows, protocolVersion: this.protocolVersion }, 'uplink connected');
    this.publishDirect(this.topicSet.status, this.status('online'), { qos: 1, retain: true });
    const info = { v: 1, gw: this.options.gatewayId, ...this.options.info, backlogRows: stats.backlog.rows, ts: new Date(this.deps.now()).toISOString() };
    this.publishDirect(this.topicSet.info, JSON.stringify(info), { qos: 1, retain: true });
    client.subscribe([this.topicSet.cmdReq, this.topicSet.ack], { qos: 1 }, (err) => {
      if (err) this.deps.log.warn({ err: String(err) }, 'uplink subscribe failed');
    });
    this.schedulePump(0);
  }

  private onDisconnected(client: MqttClient): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.inflight.clear();
    this.awaitingCloud = [];
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('connect');
    client.removeAllListeners('message');
    client.end(true);
    if (wasConnected) {
      // A connection that held for a while resets the backoff; one that drops at once keeps growing it.
      if (this.deps.now() - this.connectedAtMs >= this.options.reconnectMaxMs) this.reconnectAttempt = 0;
      this.deps.log.warn({ err: this.lastError }, 'uplink disconnected: buffering');
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const o = this.options;
    const base = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** this.reconnectAttempt);
    // Jitter over the upper half: a depot's gateways that lost the same link do not return in step.
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.reconnectAttempt = Math.min(this.reconnectAttempt + 1, 30);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.counters.reconnects++;
      this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private fail(message: string): void {
    this.lastError = message;
    this.deps.log.error({ err: message }, 'uplink cannot connect: records stay buffered');
  }

  private dropConnection(reason: string): void {
    const client = this.client;
    if (!client) return;
    this.lastError = reason;
    client.end(true);
    this.onDisconnected(client);
  }

  private watchdog(): void {
    if (!this.connected) return;
    const now = this.deps.now();
    const oldestUnacked = this.awaitingCloud[0];
    if (oldestUnacked && now - oldestUnacked.pubackAtMs > this.options.appAckTimeoutSec * 1000) {
      this.deps.log.warn({ batches: this.awaitingCloud.length, waitedMs: now - oldestUnacked.pubackAtMs }, 'no down/ack in time: resending what the cloud has not acknowledged');
      this.awaitingCloud = [];
      this.planner.rewind();
      this.schedulePump(0);
    }
    if (this.inflight.size === 0) return;
    let oldest = Infinity;
    for (const f of this.inflight.values()) oldest = Math.min(oldest, f.sentAtMs);
    if (now - oldest > this.options.publishTimeoutSec * 1000) {
      this.deps.log.warn({ inflight: this.inflight.size, waitedMs: now - oldest }, 'broker stopped acknowledging: reconnecting and resending');
      this.dropConnection(`no PUBACK within ${this.options.publishTimeoutSec} s`);
    }
  }

  private onMessage(topic: string, payload: Buffer, properties: { responseTopic?: string; correlationData?: Buffer } | undefined): void {
    if (topic === this.topicSet.ack) {
      this.onCloudAck(payload);
    } else if (topic === this.topicSet.cmdReq) {
      const meta: CommandRequestMeta = {};
      if (properties?.responseTopic) meta.responseTopic = properties.responseTopic;
      if (properties?.correlationData) meta.correlationData = properties.correlationData;
      try {
        this.commandHandler?.(payload, meta);
      } catch (err) {
        this.deps.log.error({ err: String(err) }, 'command request handler failed');
      }
    }
  }

  private onCloudAck(payload: Buffer): void {
    let upTo: unknown;
    try {
      upTo = (JSON.parse(payload.toString('utf8')) as { upTo?: unknown } | null)?.upTo;
    } catch {
      upTo = undefined;
    }
    if (typeof upTo !== 'number' || !Number.isSafeInteger(upTo) || upTo < 0) {
      this.deps.log.warn({ payload: payload.toString('utf8').slice(0, 200) }, 'ignoring malformed down/ack');
      return;
    }
    if (this.options.ackMode !== 'app') return;
    const deleted = this.deps.outbox.deleteUpTo(upTo);
    this.awaitingCloud = this.awaitingCloud.filter((b) => b.maxSeq > upTo);
    this.deps.log.debug({ upTo, deleted }, 'cloud acknowledged');
    this.schedulePump(0);
  }

  private schedulePump(delayMs: number): void {
    if (!this.connected || this.stopped) return;
    const at = this.deps.now() + delayMs;
    if (this.pumpTimer && this.pumpAtMs <= at) return;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpAtMs = at;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pumpAtMs = Infinity;
      this.pump();
    }, delayMs);
  }

  /** Fills the in-flight window in the planner's order; sleeps until the planner's next moment. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.connected && this.client && this.inflight.size < this.window && this.awaitingCloud.length < APP_UNACKED_MAX_BATCHES) {
        const plan = this.planner.claimNext();
        if (plan.kind === 'none') break;
        if (plan.kind === 'wait') {
          this.schedulePump(plan.ms);
          break;
        }
        this.publishBatch(this.client, plan);
      }
    } finally {
      this.pumping = false;
    }
  }

  private publishBatch(client: MqttClient, plan: PlannedBatch): void {
    const o = this.options;
    let topic: string;
    let body: string;
    if (plan.target === 'cmdRes') {
      topic = this.topicSet.cmdRes;
      body = recordJson(plan.rows[0] as (typeof plan.rows)[number], false);
    } else {
      topic = plan.target === 'evt' ? this.topicSet.evt : this.topicSet.pos;
      body = batchEnvelope(o.gatewayId, ++this.batchCounter, plan.hist, plan.rows, o.includeRaw);
    }
    let payload = Buffer.from(body);
    const publishOpts: IClientPublishOptions = { qos: 1 };
    // Command results stay plain: they are single small messages read by request/response clients.
    if (o.compress && plan.target !== 'cmdRes') {
      payload = gzipSync(payload);
      topic = compressedTopic(topic);
      if (this.protocolVersion === 5) publishOpts.properties = { userProperties: { ce: 'gzip' } };
    }
    const id = this.nextInflightId++;
    this.inflight.set(id, { seqs: plan.rows.map((r) => r.seq), maxSeq: (plan.rows[plan.rows.length - 1] as (typeof plan.rows)[number]).seq, records: plan.rows.length, sentAtMs: this.deps.now() });
    this.counters.published += plan.rows.length;
    this.budget.add(payload.length + topic.length);
    client.publish(topic, payload, publishOpts, (err) => this.onPuback(client, id, err));
  }

  private onPuback(client: MqttClient, id: number, err: Error | undefined): void {
    const entry = this.inflight.get(id);
    if (!entry || client !== this.client) return;
    this.inflight.delete(id);
    if (err) {
      // Refused by the broker (MQTT 5 reason code): the rows are still in the outbox; rebuilding
      // the connection rewinds the planner so they go again, with backoff in case it persists.
      this.deps.log.error({ err: String(err) }, 'broker refused a batch: reconnecting to resend');
      this.dropConnection(`publish refused: ${err.message}`);
      return;
    }
    this.reconnectAttempt = 0;
    this.counters.acked += entry.records;
    this.lastAckAt = new Date(this.deps.now()).toISOString();
    if (this.options.ackMode === 'puback') this.deps.outbox.deleteSeqs(entry.seqs);
    else this.awaitingCloud.push({ maxSeq: entry.maxSeq, pubackAtMs: this.deps.now() });
    this.schedulePump(0);
  }
}

function describeError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `connection refused (${err.message})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `broker host not found (${err.message})`;
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `broker unreachable (${err.message})`;
  if (/self[- ]signed|unable to (verify|get local issuer)|certificate|altnames/i.test(err.message)) return `TLS certificate rejected: ${err.message}`;
  return err.message;
}
