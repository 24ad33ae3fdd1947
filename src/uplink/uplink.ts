/**
 * Store-and-forward uplink to the cloud MQTT broker (CONTRACT section 3).
 *
 * The outbox is the only queue: batches are read from it and published only while connected,
 * never handed to mqtt.js's in-memory offline queue. A record leaves the outbox on PUBACK
 * (`ackMode: puback`) or when `down/ack` covers its seq (`ackMode: app`). Each connection gets a
 * fresh mqtt.js client, so nothing mqtt.js buffered for a dead connection is replayed behind our
 * back; whatever was not acknowledged is read again from the outbox, with its original seq.
 *
 * Order of service: `up/evt` (alarms, events, command results) first, then live positions, then
 * history (rows already waiting when the connection came up), paced by a byte rate and budgets.
 * Per device, records keep seq order within each stream (evt, live pos, history pos).
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Lane, OutboxRow, StoreStats } from '../store/types.js';
import { batchEnvelope, compressedTopic, recordJson, statusPayload, topicRoot, topics, type TopicSet } from './topics.js';

/** The part of the store the uplink needs (the real Store satisfies it). */
export interface UplinkOutbox {
  readBatch(q: { lane: Lane; afterSeq: number; beforeSeq?: number; limit: number; maxBytes: number }): OutboxRow[];
  deleteSeqs(seqs: readonly number[]): number;
  deleteUpTo(seq: number): number;
  stats(): StoreStats;
  onCommit(listener: (rows: readonly OutboxRow[]) => void): () => void;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  incrementCounter(key: string): number;
}

export interface UplinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface UplinkOptions {
  url: string;
  gatewayId: string;
  tenant: string;
  topicRoot: string;
  username?: string | undefined;
  password?: string | undefined;
  passwordFile?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  rejectUnauthorized: boolean;
  protocolVersion: 5 | 4;
  keepaliveSec: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  batchMaxRecords: number;
  batchMaxBytes: number;
  batchMaxDelayMs: number;
  compress: boolean;
  includeRaw: boolean;
  ackMode: 'puback' | 'app';
  inflightWindow: number;
  publishTimeoutSec: number;
  backlogBytesPerSec: number;
  budgetBytesPerDay: number;
  budgetBytesPerMonth: number;
  version: string;
  info: Record<string, unknown>;
  /** uplink configuration problems found at load time: log them and stay disconnected */
  disabledReason?: string | undefined;
}

export interface UplinkState {
  connected: boolean;
  session: number;
  lastAckAt: string | null;
  inflight: number;
  published: number;
  acked: number;
  reconnects: number;
  lastError: string | null;
  protocolVersion: number;
  bytesSentToday: number;
  bytesSentMonth: number;
  budgetExhausted: boolean;
}

export interface CommandRequestMeta {
  responseTopic?: string;
  correlationData?: Buffer;
}

interface Inflight {
  seqs: number[];
  lane: Lane;
  sentAtMs: number;
  maxSeq: number;
}

type Stream = 'evt' | 'live' | 'hist';

export class Uplink {
  private client: MqttClient | undefined;
  private connected = false;
  private stopped = true;
  private session = 0;
  private readonly t: TopicSet;
  private readonly inflight = new Map<number, Inflight>();
  private nextPublishId = 1;
  private batchCounter = 0;
  private cursors = { evt: 0, live: 0, hist: 0 };
  private boundary = 0;
  private window: number;
  private protocolVersion: 5 | 4;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private unsubscribeCommit: (() => void) | undefined;
  private pumping = false;
  private tokens = 0;
  private tokensAtMs = 0;
  private readonly stats = { published: 0, acked: 0, reconnects: 0 };
  private lastAckAt: string | null = null;
  private lastError: string | null = null;
  private bytesToday: number;
  private bytesMonth: number;
  private commandHandler: ((payload: Buffer, meta: CommandRequestMeta) => void) | undefined;

  constructor(
    private readonly options: UplinkOptions,
    private readonly deps: { outbox: UplinkOutbox; log: UplinkLogger; now: () => number },
  ) {
    this.t = topics(topicRoot(options.topicRoot, options.tenant, options.gatewayId));
    this.window = options.inflightWindow;
    this.protocolVersion = options.protocolVersion;
    this.bytesToday = Number(deps.outbox.getMeta('uplink.bytesToday') ?? 0);
    this.bytesMonth = Number(deps.outbox.getMeta('uplink.bytesMonth') ?? 0);
    this.session = Number(deps.outbox.getMeta('uplink.session') ?? 0);
  }

  get topics(): TopicSet {
    return this.t;
  }

  start(): void {
    this.stopped = false;
    if (this.options.disabledReason) {
      this.lastError = this.options.disabledReason;
      this.deps.log.error({ reason: this.options.disabledReason }, 'uplink disabled by its configuration: records are buffered');
      return;
    }
    this.unsubscribeCommit = this.deps.outbox.onCommit(() => this.schedulePump(0));
    this.watchdogTimer = setInterval(() => this.checkHung(), 1000);
    this.watchdogTimer.unref();
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeCommit?.();
    for (const timer of [this.reconnectTimer, this.pumpTimer]) if (timer) clearTimeout(timer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (this.connected) {
      // A clean goodbye: the retained status says offline for this session, not only the LWT.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(this.t.status, statusPayload('offline', this.session, this.options.version, new Date(this.deps.now())), { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.connected = false;
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }

  onCommandRequest(handler: (payload: Buffer, meta: CommandRequestMeta) => void): void {
    this.commandHandler = handler;
  }

  state(): UplinkState {
    return {
      connected: this.connected,
      session: this.session,
      lastAckAt: this.lastAckAt,
      inflight: this.inflight.size,
      published: this.stats.published,
      acked: this.stats.acked,
      reconnects: this.stats.reconnects,
      lastError: this.lastError,
      protocolVersion: this.protocolVersion,
      bytesSentToday: this.bytesToday,
      bytesSentMonth: this.bytesMonth,
      budgetExhausted: this.budgetExhausted(),
    };
  }

  /** `up/health`: QoS 0, dropped while offline (the next tick carries fresher figures anyway). */
  publishHealth(payload: object): void {
    if (!this.connected || !this.client) return;
    this.client.publish(this.t.health, JSON.stringify({ v: 1, gw: this.options.gatewayId, ...payload }), { qos: 0 });
  }

  /** MQTT 5 request/response: the result also goes to the requester's response topic. */
  publishResponse(meta: CommandRequestMeta, payload: object): void {
    if (!this.connected || !this.client || !meta.responseTopic) return;
    const opts: IClientPublishOptions = { qos: 1 };
    if (this.protocolVersion === 5 && meta.correlationData) opts.properties = { correlationData: meta.correlationData };
    this.client.publish(meta.responseTopic, JSON.stringify(payload), opts);
  }

  resetDailyBudget(): void {
    this.bytesToday = 0;
    this.deps.outbox.setMeta('uplink.bytesToday', '0');
    this.schedulePump(0);
  }

  resetMonthlyBudget(): void {
    this.bytesMonth = 0;
    this.deps.outbox.setMeta('uplink.bytesMonth', '0');
    this.schedulePump(0);
  }

  private clientOptions(): IClientOptions | undefined {
    const o = this.options;
    const opts: IClientOptions = {
      clientId: o.gatewayId,
      protocolVersion: this.protocolVersion,
      // Persistent session: commands queued by the broker while the depot was offline arrive.
      clean: false,
      keepalive: o.keepaliveSec,
      reconnectPeriod: 0,
      connectTimeout: 15_000,
      queueQoSZero: false,
      rejectUnauthorized: o.rejectUnauthorized,
      will: {
        topic: this.t.status,
        payload: Buffer.from(statusPayload('offline', this.session, o.version, new Date(this.deps.now()))),
        qos: 1,
        retain: true,
      },
    };
    if (this.protocolVersion === 5) opts.properties = { sessionExpiryInterval: 7 * 24 * 3600 };
    try {
      if (o.username) opts.username = o.username;
      if (o.passwordFile) opts.password = readFileSync(o.passwordFile, 'utf8').replace(/\r?\n$/, '');
      else if (o.password) opts.password = o.password;
      if (o.caFile) opts.ca = readFileSync(o.caFile);
      if (o.certFile) opts.cert = readFileSync(o.certFile);
      if (o.keyFile) opts.key = readFileSync(o.keyFile);
    } catch (err) {
      this.fail(`cannot read uplink credentials: ${(err as Error).message}`);
      return undefined;
    }
    return opts;
  }

  private connect(): void {
    if (this.stopped) return;
    this.session = this.deps.outbox.incrementCounter('uplink.session');
    const opts = this.clientOptions();
    if (!opts) {
      this.scheduleReconnect();
      return;
    }
    let client: MqttClient;
    try {
      client = mqtt.connect(this.options.url, opts);
    } catch (err) {
      this.fail(`bad uplink url ${this.options.url}: ${(err as Error).message}`);
      return;
    }
    this.client = client;
    client.on('connect', (connack) => {
      if (this.client !== client) return;
      this.onConnected(client, connack.properties?.receiveMaximum);
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.properties));
    client.on('error', (err) => {
      if (this.client !== client) return;
      const code = (err as { code?: number | string }).code;
      // Brokers that only speak 3.1.1 refuse a v5 CONNECT; fall back once and stay there.
      if (this.protocolVersion === 5 && (code === 132 || code === 1 || /protocol version/i.test(err.message))) {
        this.deps.log.warn({ url: this.options.url }, 'broker refused MQTT 5: falling back to 3.1.1');
        this.protocolVersion = 4;
      }
      this.lastError = describeError(err);
      this.deps.log.warn({ err: this.lastError, url: this.options.url }, 'uplink error');
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.onDisconnected(client);
    });
  }

  private onConnected(client: MqttClient, receiveMaximum: number | undefined): void {
    this.connected = true;
    this.reconnectAttempt = 0;
    this.lastError = null;
    this.window = Math.max(1, Math.min(this.options.inflightWindow, receiveMaximum ?? Infinity));
    // Everything already waiting is history; rows committed from now on are live.
    this.boundary = this.deps.outbox.stats().lastSeq;
    this.cursors = { evt: 0, live: this.boundary, hist: 0 };
    this.tokens = 0;
    this.tokensAtMs = this.deps.now();
    this.deps.log.info({ url: this.options.url, session: this.session, window: this.window, backlog: this.deps.outbox.stats().backlog.rows }, 'uplink connected');
    client.publish(this.t.status, statusPayload('online', this.session, this.options.version, new Date(this.deps.now())), { qos: 1, retain: true });
    const backlog = this.deps.outbox.stats().backlog;
    client.publish(
      this.t.info,
      JSON.stringify({ v: 1, gw: this.options.gatewayId, ...this.options.info, backlogRows: backlog.rows, ts: new Date(this.deps.now()).toISOString() }),
      { qos: 1, retain: true },
    );
    client.subscribe([this.t.cmdReq, this.t.ack], { qos: 1 }, (err) => {
      if (err) this.deps.log.warn({ err: String(err) }, 'uplink subscribe failed');
    });
    this.schedulePump(0);
  }

  private onDisconnected(client: MqttClient): void {
    const was = this.connected;
    this.connected = false;
    this.inflight.clear();
    client.removeAllListeners('connect');
    client.end(true);
    if (this.client === client) this.client = undefined;
    if (was) this.deps.log.warn({ err: this.lastError }, 'uplink disconnected: buffering');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const base = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this.reconnectAttempt);
    // Full jitter halves the herd when a whole depot's gateways lose the same link.
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.reconnectAttempt = Math.min(this.reconnectAttempt + 1, 30);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.stats.reconnects++;
      this.connect();
    }, delay);
    this.reconnectTimer.unref?.();
  }

  private fail(message: string): void {
    this.lastError = message;
    this.deps.log.error({ err: message }, 'uplink cannot connect');
  }

  private checkHung(): void {
    if (!this.connected || this.inflight.size === 0 || !this.client) return;
    const now = this.deps.now();
    let oldest = Infinity;
    for (const f of this.inflight.values()) oldest = Math.min(oldest, f.sentAtMs);
    if (now - oldest > this.options.publishTimeoutSec * 1000) {
      this.lastError = `no PUBACK within ${this.options.publishTimeoutSec} s`;
      this.deps.log.warn({ inflight: this.inflight.size, waitedMs: now - oldest }, 'broker stopped acknowledging: reconnecting and resending');
      const client = this.client;
      client.end(true);
      this.onDisconnected(client);
    }
  }

  private onMessage(topic: string, payload: Buffer, properties: { responseTopic?: string; correlationData?: Buffer } | undefined): void {
    if (topic === this.t.ack) {
      let upTo: unknown;
      try {
        upTo = (JSON.parse(payload.toString('utf8')) as { upTo?: unknown }).upTo;
      } catch {
        upTo = undefined;
      }
      if (typeof upTo !== 'number' || !Number.isInteger(upTo) || upTo < 0) {
        this.deps.log.warn({ payload: payload.toString('utf8').slice(0, 200) }, 'ignoring malformed down/ack');
        return;
      }
      if (this.options.ackMode === 'app') {
        const n = this.deps.outbox.deleteUpTo(upTo);
        this.deps.log.debug({ upTo, deleted: n }, 'cloud acknowledged');
      }
      return;
    }
    if (topic === this.t.cmdReq) {
      const meta: CommandRequestMeta = {};
      if (properties?.responseTopic) meta.responseTopic = properties.responseTopic;
      if (properties?.correlationData) meta.correlationData = properties.correlationData;
      try {
        this.commandHandler?.(payload, meta);
      } catch (err) {
        this.deps.log.error({ err: String(err) }, 'command handler failed');
      }
    }
  }

  private schedulePump(delayMs: number): void {
    if (!this.connected || this.stopped) return;
    if (this.pumpTimer) {
      if (delayMs > 0) return;
      clearTimeout(this.pumpTimer);
    }
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, delayMs);
  }

  /** Fills the in-flight window in priority order: evt, live positions, paced history. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let wakeIn = Infinity;
      while (this.connected && this.client && this.inflight.size < this.window) {
        const next = this.nextBatch();
        if (next.kind === 'none') break;
        if (next.kind === 'wait') {
          wakeIn = Math.min(wakeIn, next.ms);
          break;
        }
        this.publish(next.stream, next.rows);
      }
      if (wakeIn !== Infinity) this.schedulePump(Math.max(1, Math.ceil(wakeIn)));
    } finally {
      this.pumping = false;
    }
  }

  private nextBatch(): { kind: 'batch'; stream: Stream; rows: OutboxRow[] } | { kind: 'wait'; ms: number } | { kind: 'none' } {
    const o = this.options;
    const now = this.deps.now();
    const evt = this.deps.outbox.readBatch({ lane: 'evt', afterSeq: this.cursors.evt, limit: o.batchMaxRecords, maxBytes: o.batchMaxBytes });
    if (evt.length > 0) {
      // Command results are single messages on up/cmd/res; they never share a batch.
      const first = evt[0] as OutboxRow;
      if (first.type === 'command_result') return { kind: 'batch', stream: 'evt', rows: [first] };
      const cut = evt.findIndex((r) => r.type === 'command_result');
      return { kind: 'batch', stream: 'evt', rows: cut > 0 ? evt.slice(0, cut) : evt };
    }
    if (this.budgetExhausted()) return { kind: 'none' };
    let liveWaitMs: number | undefined;
    const live = this.deps.outbox.readBatch({ lane: 'pos', afterSeq: this.cursors.live, limit: o.batchMaxRecords, maxBytes: o.batchMaxBytes });
    if (live.length > 0) {
      const full = live.length >= o.batchMaxRecords || live.reduce((n, r) => n + r.bytes, 0) >= o.batchMaxBytes * 0.9;
      const age = now - (live[0] as OutboxRow).receivedAtMs;
      // Batching delay: a young, small batch waits a moment for company (fewer, larger publishes);
      // history may use the moment.
      if (full || age >= o.batchMaxDelayMs) return { kind: 'batch', stream: 'live', rows: live };
      liveWaitMs = o.batchMaxDelayMs - age;
    }
    const hist = this.deps.outbox.readBatch({ lane: 'pos', afterSeq: this.cursors.hist, beforeSeq: this.boundary + 1, limit: o.batchMaxRecords, maxBytes: o.batchMaxBytes });
    if (hist.length === 0) return liveWaitMs === undefined ? { kind: 'none' } : { kind: 'wait', ms: liveWaitMs };
    if (o.backlogBytesPerSec > 0) {
      const bytes = hist.reduce((n, r) => n + r.bytes, 0);
      const cap = Math.max(o.backlogBytesPerSec, bytes);
      this.tokens = Math.min(cap, this.tokens + ((now - this.tokensAtMs) / 1000) * o.backlogBytesPerSec);
      this.tokensAtMs = now;
      if (this.tokens < bytes) {
        const histWaitMs = ((bytes - this.tokens) / o.backlogBytesPerSec) * 1000;
        return { kind: 'wait', ms: Math.min(histWaitMs, liveWaitMs ?? Infinity) };
      }
      this.tokens -= bytes;
    }
    return { kind: 'batch', stream: 'hist', rows: hist };
  }

  private publish(stream: Stream, rows: OutboxRow[]): void {
    const client = this.client as MqttClient;
    const o = this.options;
    const first = rows[0] as OutboxRow;
    const last = rows[rows.length - 1] as OutboxRow;
    let topic: string;
    let body: string;
    if (stream === 'evt' && first.type === 'command_result') {
      topic = this.t.cmdRes;
      body = recordJson(first, false);
    } else {
      topic = stream === 'evt' ? this.t.evt : this.t.pos;
      body = batchEnvelope(o.gatewayId, ++this.batchCounter, stream === 'hist' || (stream === 'evt' && last.seq <= this.boundary), rows, o.includeRaw);
    }
    let payload: Buffer = Buffer.from(body);
    const publishOpts: IClientPublishOptions = { qos: 1 };
    if (o.compress && topic !== this.t.cmdRes) {
      payload = gzipSync(payload);
      topic = compressedTopic(topic);
      if (this.protocolVersion === 5) publishOpts.properties = { userProperties: { ce: 'gzip' } };
    }
    this.cursors[stream] = last.seq;
    const id = this.nextPublishId++;
    this.inflight.set(id, { seqs: rows.map((r) => r.seq), lane: first.lane, sentAtMs: this.deps.now(), maxSeq: last.seq });
    this.stats.published += rows.length;
    this.countBytes(payload.length + topic.length);
    client.publish(topic, payload, publishOpts, (err) => this.onPuback(client, id, err));
  }

  private onPuback(client: MqttClient, id: number, err: Error | undefined): void {
    const entry = this.inflight.get(id);
    if (!entry || client !== this.client) return;
    this.inflight.delete(id);
    if (err) {
      // Not acknowledged: the rows stay in the outbox and go again after the reconnect.
      this.deps.log.warn({ err: String(err) }, 'publish failed');
      return;
    }
    this.stats.acked += entry.seqs.length;
    this.lastAckAt = new Date(this.deps.now()).toISOString();
    if (this.options.ackMode === 'puback') this.deps.outbox.deleteSeqs(entry.seqs);
    this.schedulePump(0);
  }

  private countBytes(n: number): void {
    this.bytesToday += n;
    this.bytesMonth += n;
    if (this.options.budgetBytesPerDay > 0 || this.options.budgetBytesPerMonth > 0) {
      this.deps.outbox.setMeta('uplink.bytesToday', String(this.bytesToday));
      this.deps.outbox.setMeta('uplink.bytesMonth', String(this.bytesMonth));
    }
  }

  /** Metered SIMs: positions stop at the budget; alarms, events and command results never do. */
  private budgetExhausted(): boolean {
    const o = this.options;
    return (o.budgetBytesPerDay > 0 && this.bytesToday >= o.budgetBytesPerDay) || (o.budgetBytesPerMonth > 0 && this.bytesMonth >= o.budgetBytesPerMonth);
  }
}

function describeError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `connection refused (${err.message})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `broker host not found (${err.message})`;
  if (/self[- ]signed|unable to verify|certificate/i.test(err.message)) return `TLS certificate rejected: ${err.message}`;
  return err.message;
}
