/**
 * A real mosquitto for tests, on its own free port on 127.0.0.1, killed/paused/restarted to
 * simulate outages. The machine's own mosquitto (1883) is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import { tempDir } from './tmp.js';
import { waitFor } from './net.js';

export function mosquittoPath(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) if (existsSync(p)) return p;
  return 'mosquitto';
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface BrokerTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface TestBroker {
  port: number;
  url: string;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  pause(): void;
  resume(): void;
  /** kill (SIGKILL by default, SIGTERM = graceful, saves persistence) and start again, same port */
  restart(signal?: NodeJS.Signals): Promise<void>;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startBroker(opts: { tls?: BrokerTls } = {}): Promise<TestBroker> {
  const port = await freePort();
  const tmp = tempDir('tkgw-broker-');
  const conf = join(tmp.dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root, mosquitto drops to its own user and could not read our 0700 temp files.
    'user root',
    // Persistence lets a graceful restart keep the subscribers' sessions (a cloud broker does);
    // kill -9 still loses whatever it had not written, which is what `ackMode: app` is for.
    'persistence true',
    `persistence_location ${tmp.dir}/`,
    'autosave_interval 1',
    // Big enough for the outage tests; the uplink never relies on the broker's queue anyway.
    'max_queued_messages 100000',
    'log_dest none',
  ];
  if (opts.tls) lines.push(`cafile ${opts.tls.caFile}`, `certfile ${opts.tls.certFile}`, `keyfile ${opts.tls.keyFile}`);
  writeFileSync(conf, lines.join('\n') + '\n');
  let proc: ChildProcess | undefined;
  const launch = async () => {
    proc = spawn(mosquittoPath(), ['-c', conf], { stdio: 'ignore' });
    await waitFor(() => canConnect(port), `mosquitto on port ${port}`, 10_000, 50);
  };
  await launch();
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  };
  return {
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    stop: async () => {
      await kill('SIGTERM');
      tmp.cleanup();
    },
    kill,
    pause: () => proc?.kill('SIGSTOP'),
    resume: () => proc?.kill('SIGCONT'),
    restart: async (signal: NodeJS.Signals = 'SIGKILL') => {
      await kill(signal);
      await launch();
    },
  };
}

export interface ReceivedRecord {
  seq: number;
  topic: string;
  hist: boolean;
  rec: Record<string, unknown>;
}

/** Subscribes to a gateway's `up/#` and collects every record (gzip decoded), counting duplicates. */
export class Collector {
  readonly records: ReceivedRecord[] = [];
  readonly messages: Array<{ topic: string; payload: Buffer; retain: boolean }> = [];
  readonly seqCount = new Map<number, number>();
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, root: string, extra: mqtt.IClientOptions = {}): Promise<Collector> {
    // A persistent session, like a cloud consumer: messages published while it reconnects wait for it.
    const client = mqtt.connect(url, {
      clientId: `collector-${Math.random().toString(16).slice(2)}`,
      reconnectPeriod: 200,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      ...extra,
    });
    const c = new Collector(client);
    client.on('message', (topic, payload, packet) => c.onMessage(topic, payload, packet.retain));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(`${root}/up/#`, { qos: 1 });
    return c;
  }

  private onMessage(topic: string, payload: Buffer, retain: boolean): void {
    this.messages.push({ topic, payload, retain });
    const body = topic.endsWith('/z') ? gunzipSync(payload) : payload;
    if (/\/up\/(pos|evt)(\/z)?$/.test(topic)) {
      const env = JSON.parse(body.toString()) as { hist: boolean; recs: Array<Record<string, unknown>> };
      for (const rec of env.recs) this.add(topic, env.hist, rec);
    } else if (/\/up\/cmd\/res$/.test(topic)) {
      this.add(topic, false, JSON.parse(body.toString()) as Record<string, unknown>);
    }
  }

  private add(topic: string, hist: boolean, rec: Record<string, unknown>): void {
    const seq = rec['seq'] as number;
    this.records.push({ seq, topic, hist, rec });
    this.seqCount.set(seq, (this.seqCount.get(seq) ?? 0) + 1);
  }

  get duplicates(): number {
    let n = 0;
    for (const c of this.seqCount.values()) n += c - 1;
    return n;
  }

  uniqueSeqs(): number[] {
    return [...this.seqCount.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
