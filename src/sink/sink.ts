/**
 * The reference cloud consumer: a shared subscription to many gateways' `up/pos` and `up/evt`,
 * records stored idempotently by (gateway, seq) in one transaction per batch, the PUBACK sent
 * only after the commit, and `down/ack` with the highest contiguous seq the DATABASE holds (so
 * several sink processes in one group never acknowledge what another has not committed).
 */
import { gunzipSync } from 'node:zlib';
import type { MqttClient } from 'mqtt';
import type { SinkDb, SinkRecord } from './db.js';
import { recordSpans } from './json.js';

export interface SinkOptions {
  mqttUrl: string;
  group: string;
  /** topic root with wildcards for tenant and gateway id */
  topicRoot: string;
  clientId: string;
  ackIntervalMs?: number;
}

export interface SinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export class Sink {
  private client: MqttClient | undefined;
  private readonly dirty = new Map<string, string>(); // gw -> its topic root
  private readonly acked = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  stored = 0;

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
          () => done(0),
          (err: unknown) => {
            this.log.error({ topic, err: String(err) }, 'batch not stored: not acknowledged');
            // Not acknowledging keeps the message with the broker for redelivery.
            this.client?.end(true, {}, () => this.client?.reconnect());
          },
        );
      },
    });
    this.client = client;
    // A broker that lost its state forgets subscriptions: subscribe on every connect.
    client.on('connect', () => {
      client.subscribe(filters, { qos: 1 }, (err) => {
        if (err) this.log.warn({ err: String(err) }, 'subscribe failed');
      });
      this.log.info({ url: this.options.mqttUrl, group: this.options.group }, 'sink connected');
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'sink mqtt error'));
    this.timer = setInterval(() => void this.sendAcks(), this.options.ackIntervalMs ?? 250);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sendAcks();
    await this.client?.endAsync();
    await this.db.close();
  }

  private async handle(topic: string, message: Buffer): Promise<void> {
    const parts = topic.split('/');
    const gwAt = parts.lastIndexOf('gw');
    const gw = parts[gwAt + 1];
    if (gwAt < 0 || !gw) return;
    const root = parts.slice(0, gwAt + 2).join('/');
    const text = (topic.endsWith('/z') ? gunzipSync(message) : message).toString('utf8');
    const env = JSON.parse(text) as { recs?: unknown };
    const all = Array.isArray(env.recs) ? (env.recs as SinkRecord[]) : [];
    // Each record's text as received; without it (an envelope the scan does not vouch for) the
    // database layer serializes the parsed records instead.
    const spans = recordSpans(text);
    const texts: string[] | undefined = spans?.length === all.length * 2 ? [] : undefined;
    const recs: SinkRecord[] = [];
    for (let i = 0; i < all.length; i++) {
      const r = all[i] as SinkRecord;
      if (r === null || typeof r !== 'object' || !Number.isInteger(r.seq)) continue;
      recs.push(r);
      if (texts && spans) texts.push(text.slice(spans[2 * i], spans[2 * i + 1]));
    }
    await this.db.storeBatch(gw, recs, texts);
    this.stored += recs.length;
    this.dirty.set(gw, root);
  }

  /** down/ack only for seqs the database holds contiguously. */
  private async sendAcks(): Promise<void> {
    for (const [gw, root] of [...this.dirty]) {
      this.dirty.delete(gw);
      try {
        const upTo = await this.db.contiguous(gw);
        if (upTo > (this.acked.get(gw) ?? 0) && this.client?.connected) {
          this.client.publish(`${root}/down/ack`, JSON.stringify({ v: 1, upTo }), { qos: 1 });
          this.acked.set(gw, upTo);
        }
      } catch (err) {
        this.dirty.set(gw, root);
        this.log.warn({ gw, err: String(err) }, 'contiguous seq not computed');
      }
    }
  }
}
