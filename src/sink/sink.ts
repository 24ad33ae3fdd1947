/**
 * The reference cloud consumer: a shared subscription to many gateways' `up/pos` and `up/evt`,
 * records stored idempotently by (gateway, seq) in one transaction per batch, the PUBACK sent
 * only after the commit, and `down/ack` with the highest contiguous seq the DATABASE holds (so
 * several sink processes in one group never acknowledge what another has not committed).
 * Per-device latest state is queued by each batch's transaction and folded into the device rows
 * on the same timer, after the acks: off the per-batch path, whose cost it used to double.
 *
 * Two kinds of failure, handled apart. A message the sink cannot use (not gzip on a `/z` topic,
 * not JSON, no `recs` array, refused by the database) fails the same way on every delivery: it
 * is kept as a dead letter and acknowledged, or it would be redelivered forever ahead of
 * everything behind it. A storage failure (database down, disk full) may heal: that message is
 * not acknowledged, and the sink reconnects after a pause growing while the database fails, so
 * the broker delivers it again.
 */
import { gunzipSync } from 'node:zlib';
import type { MqttClient } from 'mqtt';
import { RejectedBatchError, type SinkDb, type SinkRecord } from './db.js';
import { recordSpans } from './json.js';
import { TOPIC_ID } from '../config/schema.js';

/** how long stop() waits for the final down/ack to be acknowledged by the broker */
const STOP_ACK_WAIT_MS = 2000;

export interface SinkOptions {
  mqttUrl: string;
  group: string;
  /** topic root with wildcards for tenant and gateway id */
  topicRoot: string;
  clientId: string;
  ackIntervalMs?: number;
  /** pause before reconnecting after a storage failure (default 1 s), doubling per failure in a row */
  retryMinMs?: number;
  /** the longest such pause (default 30 s) */
  retryMaxMs?: number;
}

export interface SinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

// Pages of the device queue (FOLD_PAGE batches each) one tick folds: a long queue (after a crash,
// or batches arriving as fast as they fold) cannot hold back the down/acks of the ticks after it.
const FOLD_PAGES_PER_TICK = 10;

// The gateway's batches are at most 8 MiB of JSON (`uplink.batchMaxBytes`); the cap keeps a
// small gzip bomb from taking the sink's memory.
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** Why a message cannot be used: it is kept as a dead letter and acknowledged. */
class Unusable extends Error {}

interface Batch {
  gw: string;
  root: string;
  recs: SinkRecord[];
  /** each record's JSON as received, when the span scan vouches for the envelope */
  texts: string[] | undefined;
  /** records without a safe-integer seq, skipped */
  skipped: number;
  total: number;
}

export class Sink {
  private client: MqttClient | undefined;
  /** gateways whose down/ack may be behind what is stored */
  private readonly dirty = new Set<string>();
  /** every gateway seen, with its topic root: re-acknowledged after a reconnect */
  private readonly roots = new Map<string, string>();
  private readonly acked = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** the running tick (acks, then the fold); ticks never overlap, and stop() waits for it */
  private ticking: Promise<void> | undefined;
  /** Something may be queued for the fold. True at start: a crash can leave queued batches. */
  private foldDue = true;
  /** folds that failed in a row, and when the next may run: a failing fold backs off, logged once a step */
  private foldFailures = 0;
  private foldRetryAtMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 0;
  private stopping = false;
  /** records stored */
  stored = 0;
  /** messages (or records the database refused) kept as dead letters and acknowledged */
  deadLettered = 0;
  /** records skipped for want of an integer seq */
  skipped = 0;
  /** deliveries left unacknowledged because storing failed */
  storeFailures = 0;

  constructor(
    private readonly options: SinkOptions,
    private readonly db: SinkDb,
    private readonly log: SinkLogger,
  ) {}

  async start(): Promise<void> {
    await this.db.migrate();
    const { default: mqtt } = await import('mqtt');
    const filters = ['up/pos', 'up/pos/z', 'up/evt', 'up/evt/z'].map((t) => `$share/${this.options.group}/${this.options.topicRoot}/${t}`);
    const client = mqtt.connect(this.options.mqttUrl, {
      clientId: this.options.clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 7 * 24 * 3600 },
      reconnectPeriod: 1000,
      // The PUBACK waits for the commit: a crash before it makes the broker redeliver.
      customHandleAcks: (topic, message, _packet, done) => {
        this.handle(topic, message).then(
          () => {
            this.retryMs = 0;
            done(0);
          },
          (err: unknown) => this.storageFailed(topic, err),
        );
      },
    });
    this.client = client;
    // A broker that lost its state forgets subscriptions: subscribe on every connect.
    client.on('connect', () => {
      // A down/ack in flight when the session dropped may be gone (ending it after a storage
      // failure discards the outgoing queue): each gateway's contiguous seq is said again.
      for (const gw of this.roots.keys()) this.dirty.add(gw);
      this.acked.clear();
      client.subscribe(filters, { qos: 1 }, (err) => {
        if (err) this.log.warn({ err: String(err) }, 'subscribe failed');
      });
      this.log.info({ url: this.options.mqttUrl, group: this.options.group }, 'sink connected');
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'sink mqtt error'));
    this.timer = setInterval(() => void this.tick(), this.options.ackIntervalMs ?? 250);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    // The timer's tick may be under way (a long fold): it finishes before the last one, so
    // nothing runs against the database once it is closed.
    await this.ticking;
    await this.tick();
    const client = this.client;
    if (client) {
      // The last down/ack is worth waiting for, briefly: a graceful end() waits for every
      // in-flight publish without limit, so a broker that is away (or a session dropped after a
      // storage failure, never resumed) kept the sink from ever exiting.
      await new Promise<void>((resolve) => {
        if (Object.keys(client.outgoing).length === 0) return resolve();
        const timer = setTimeout(resolve, STOP_ACK_WAIT_MS);
        timer.unref();
        client.once('outgoingEmpty', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    }
    // After the client ended, so nothing stored behind it is left queued until the next start.
    await this.fold(Number.POSITIVE_INFINITY);
    await this.db.close();
  }

  /**
   * Not acknowledging keeps the message with the broker; mqtt.js offers no way to refuse one
   * message and go on, so the session is dropped and resumed, which redelivers it. The pause
   * keeps a database that stays down from turning that into a reconnect loop.
   */
  private storageFailed(topic: string, err: unknown): void {
    this.storeFailures++;
    const min = this.options.retryMinMs ?? 1000;
    this.retryMs = this.retryMs === 0 ? min : Math.min(this.retryMs * 2, this.options.retryMaxMs ?? 30_000);
    const delay = this.retryMs;
    this.log.error({ topic, err: String(err), retryInMs: delay }, 'batch not stored: not acknowledged, reconnecting after a pause');
    const client = this.client;
    client?.end(true, {}, () => {
      if (this.stopping) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.stopping) client.reconnect();
      }, delay);
    });
  }

  /** Resolves once the message is stored or kept as a dead letter; rejects on a storage failure. */
  private async handle(topic: string, message: Buffer): Promise<void> {
    let batch: Batch;
    try {
      batch = parseBatch(topic, message);
    } catch (err) {
      if (!(err instanceof Unusable)) throw err;
      await this.deadLetter(topicGateway(topic), topic, message, err.message);
      return;
    }
    const { gw, recs, texts } = batch;
    if (batch.skipped > 0) {
      this.skipped += batch.skipped;
      this.log.error({ gw, topic, skipped: batch.skipped, records: batch.total }, 'records without an integer seq skipped');
    }
    try {
      await this.db.storeBatch(gw, recs, texts);
      this.stored += recs.length;
    } catch (err) {
      if (!(err instanceof RejectedBatchError)) throw err;
      await this.storeOneByOne(batch, topic, message, err);
    }
    this.dirty.add(gw);
    this.roots.set(gw, batch.root);
    this.foldDue = true;
  }

  /**
   * The database refused something in the batch: each record alone, so one bad record costs
   * only itself (kept as a dead letter with its own JSON) and the others are stored.
   */
  private async storeOneByOne(batch: Batch, topic: string, message: Buffer, batchErr: RejectedBatchError): Promise<void> {
    const { gw, recs, texts } = batch;
    if (recs.length <= 1) {
      await this.deadLetter(gw, topic, message, `refused by the database: ${batchErr.message}`, recs[0]?.seq);
      return;
    }
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i] as SinkRecord;
      const t = texts?.[i];
      try {
        await this.db.storeBatch(gw, [r], t === undefined ? undefined : [t]);
        this.stored++;
      } catch (err) {
        if (!(err instanceof RejectedBatchError)) throw err;
        await this.deadLetter(gw, topic, Buffer.from(t ?? JSON.stringify(r)), `record seq ${r.seq} refused by the database: ${err.message}`, r.seq);
      }
    }
  }

  private async deadLetter(gw: string | null, topic: string, payload: Buffer, reason: string, seq?: number): Promise<void> {
    await this.db.storeDeadLetter({ gw, topic, receivedAt: new Date().toISOString(), reason, payload, seq });
    this.deadLettered++;
    this.log.error({ gw, topic, bytes: payload.length, reason }, 'message kept as a dead letter and acknowledged');
  }

  /** One tick at a time: a fold longer than the interval is not raced by the next tick's. */
  private tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        await this.sendAcks();
        await this.fold();
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  /** down/ack only for seqs the database holds contiguously. */
  private async sendAcks(): Promise<void> {
    for (const gw of [...this.dirty]) {
      // Disconnected (a broker away, the pause after a storage failure): the gateway stays
      // dirty, and every connect marks all gateways dirty again, so its down/ack goes out once
      // connected whether or not it sends again.
      if (!this.client?.connected) return;
      this.dirty.delete(gw);
      const root = this.roots.get(gw);
      if (root === undefined) continue;
      try {
        const upTo = await this.db.contiguous(gw);
        if (!this.client.connected) return;
        if (upTo > (this.acked.get(gw) ?? 0)) {
          this.client.publish(`${root}/down/ack`, JSON.stringify({ v: 1, upTo }), { qos: 1 });
          this.acked.set(gw, upTo);
        }
      } catch (err) {
        this.dirty.add(gw);
        this.log.warn({ gw, err: String(err) }, 'contiguous seq not computed');
      }
    }
  }

  /**
   * Device state brought up to every batch stored so far, after the acks (they are what the
   * gateways wait for). stop() ticks once more, so a clean stop leaves device state complete.
   */
  private async fold(maxPages = FOLD_PAGES_PER_TICK): Promise<void> {
    if (!this.foldDue || (maxPages !== Number.POSITIVE_INFINITY && Date.now() < this.foldRetryAtMs)) return;
    this.foldDue = false;
    try {
      // false: pages left, or another sink on the database is folding: the next tick goes on.
      if (!(await this.db.foldDevices(maxPages))) this.foldDue = true;
      this.foldFailures = 0;
    } catch (err) {
      // The queue is in the database: a later tick folds what this one did not. One page failing
      // holds back the queue behind it, so retries back off (0.5 s doubling to 30 s) instead of
      // running, and logging, every tick.
      this.foldDue = true;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(this.foldFailures, 6));
      this.foldFailures++;
      this.foldRetryAtMs = Date.now() + delay;
      this.log.warn({ err: String(err), failures: this.foldFailures, retryInMs: delay }, 'device state not folded');
    }
  }
}

/** The topic's gateway id when it names a valid one (what a dead letter is filed under). */
function topicGateway(topic: string): string | null {
  return topicRoot(topic)?.gw ?? null;
}

/**
 * The gateway id and the topic root up to it (`.../gw/<id>`), when the topic names an id the
 * gateway's configuration allows: also what keeps an absurd topic level out of the databases'
 * gw indexes (a PostgreSQL btree refuses keys over ~2.7 kB).
 */
function topicRoot(topic: string): { gw: string; root: string } | undefined {
  const parts = topic.split('/');
  const gwAt = parts.lastIndexOf('gw');
  const gw = gwAt < 0 ? undefined : parts[gwAt + 1];
  return gw !== undefined && TOPIC_ID.test(gw) ? { gw, root: parts.slice(0, gwAt + 2).join('/') } : undefined;
}

/** The batch a message carries; throws Unusable with the reason when it carries none. */
function parseBatch(topic: string, message: Buffer): Batch {
  const at = topicRoot(topic);
  if (at === undefined) throw new Unusable('the topic names no valid gateway id (gw/<1-64 of A-Z a-z 0-9 _ ->)');
  let raw = message;
  if (topic.endsWith('/z')) {
    try {
      raw = gunzipSync(message, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (err) {
      throw new Unusable(`not gzip: ${(err as Error).message}`);
    }
  }
  const text = raw.toString('utf8');
  let env: unknown;
  try {
    env = JSON.parse(text);
  } catch (err) {
    throw new Unusable(`not JSON: ${(err as Error).message}`);
  }
  const all = env !== null && typeof env === 'object' ? (env as { recs?: unknown }).recs : undefined;
  if (!Array.isArray(all)) throw new Unusable('no recs array in the envelope');
  // Each record's text as received; without it (an envelope the scan does not vouch for) the
  // database layer serializes the parsed records instead.
  const spans = recordSpans(text);
  const texts: string[] | undefined = spans?.length === all.length * 2 ? [] : undefined;
  const recs: SinkRecord[] = [];
  for (let i = 0; i < all.length; i++) {
    const r = all[i] as SinkRecord | null;
    // Safe integers only: past 2^53 a seq is no longer exact, past 2^63 no bigint holds it.
    if (r === null || typeof r !== 'object' || Array.isArray(r) || !Number.isSafeInteger(r.seq)) continue;
    recs.push(r);
    if (texts && spans) texts.push(text.slice(spans[2 * i], spans[2 * i + 1]));
  }
  return { gw: at.gw, root: at.root, recs, texts, skipped: all.length - recs.length, total: all.length };
}
