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

export interface BrokerOptions {
  tls?: BrokerTls;
  /**
   * Off by default: a restart forgets sessions and queued messages, as a crashed broker does.
   * On, a graceful (SIGTERM) restart keeps subscribers' sessions, as a cloud broker does.
   */
  persistence?: boolean;
  /** extra mosquitto.conf lines (e.g. `max_inflight_messages 4`) */
  extraConfig?: string[];
}

export async function startBroker(opts: BrokerOptions = {}): Promise<TestBroker> {
  const port = await freePort();
  const tmp = tempDir('tkgw-broker-');
  const conf = join(tmp.dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root, mosquitto drops to its own user and could not read our 0700 temp files.
    'user root',
    // Big enough for the outage tests; the uplink never relies on the broker's queue anyway.
    'max_queued_messages 100000',
    'log_dest none',
  ];
  if (opts.persistence) lines.push('persistence true', `persistence_location ${tmp.dir}/`, 'autosave_interval 1');
  else lines.push('persistence false');
  if (opts.tls) lines.push(`cafile ${opts.tls.caFile}`, `certfile ${opts.tls.certFile}`, `keyfile ${opts.tls.keyFile}`);
  lines.push(...(opts.extraConfig ?? []));
  writeFileSync(conf, lines.join('\n') + '\n');
  let proc: ChildProcess | undefined;
  const launch = async () => {
    const p = spawn(mosquittoPath(), ['-c', conf], { stdio: 'ignore' });
    proc = p;
    await waitFor(
      () => {
        if (p.exitCode !== null) throw new Error(`mosquitto exited with ${p.exitCode} (config ${conf})`);
        return canConnect(port);
      },
      `mosquitto on port ${port}`,
      10_000,
      50,
    );
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

const MAX_COLLECTED = 1_000_000;

export interface ReceivedRecord {
  seq: number;
  topic: string;
  hist: boolean;
  rec: Record<string, unknown>;
}

/** Subscribes to a gateway's `up/#` and collects every record (gzip decoded), counting duplicates. */
export class Collector {
  readonly records: ReceivedRecord[] = [];
  readonly messages: Array<{ topic: string; payload: Buffer; retain: boolean; userProperties?: Record<string, string | string[]> }> = [];
  readonly seqCount = new Map<number, number>();
  private ackTimer: NodeJS.Timeout | undefined;
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
    client.on('message', (topic, payload, packet) => c.onMessage(topic, payload, packet.retain, packet.properties?.userProperties));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(`${root}/up/#`, { qos: 1 });
    return c;
  }

  private onMessage(topic: string, payload: Buffer, retain: boolean, userProperties: Record<string, string | string[]> | undefined): void {
    this.messages.push(userProperties ? { topic, payload, retain, userProperties } : { topic, payload, retain });
    const body = topic.endsWith('/z') ? gunzipSync(payload) : payload;
    if (/\/up\/(pos|evt)(\/z)?$/.test(topic)) {
      const env = JSON.parse(body.toString()) as { hist: boolean; recs: Array<Record<string, unknown>> };
      for (const rec of env.recs) this.add(topic, env.hist, rec);
    } else if (/\/up\/cmd\/res$/.test(topic)) {
      this.add(topic, false, JSON.parse(body.toString()) as Record<string, unknown>);
    }
  }

  private add(topic: string, hist: boolean, rec: Record<string, unknown>): void {
    // Bound for a runaway test (e.g. a resend loop): fail loudly rather than eat the machine's memory.
    if (this.records.length >= MAX_COLLECTED) throw new Error(`Collector: more than ${MAX_COLLECTED} records`);
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

  /** Highest seq such that every seq from 1 up to it has arrived (a fresh store starts at 1). */
  contiguousUpTo(): number {
    let n = 0;
    while (this.seqCount.has(n + 1)) n++;
    return n;
  }

  /**
   * Plays the cloud in `ackMode: app`: every `everyMs`, acknowledges the contiguous prefix it has
   * on `down/ack` (only what it really holds, so a lost record is never acknowledged).
   */
  startAcking(root: string, everyMs = 50): void {
    let acked = 0;
    this.ackTimer = setInterval(() => {
      const upTo = this.contiguousUpTo();
      if (upTo === acked || !this.client.connected) return;
      acked = upTo;
      this.client.publish(`${root}/down/ack`, JSON.stringify({ v: 1, upTo }), { qos: 1 });
    }, everyMs);
  }

  async close(): Promise<void> {
    if (this.ackTimer) clearInterval(this.ackTimer);
    await this.client.endAsync(true);
  }
}

export interface TcpProxy {
  port: number;
  url: string;
  /** live relayed connections */
  readonly connections: number;
  /** destroys every relayed connection without a word, like a NAT dropping its mapping */
  cut(): void;
  close(): Promise<void>;
}

/**
 * MQTT protocol level of a CONNECT at the start of `buf` (4 = 3.1.1, 5 = MQTT 5), or undefined
 * while too few bytes have arrived. Layout: type byte, remaining length (1-4 bytes, 7 bits each),
 * protocol name (2-byte length + "MQTT"), then the level byte.
 */
function connectProtocolLevel(buf: Buffer): number | undefined {
  let i = 1;
  while (i < buf.length && i < 5 && ((buf[i] as number) & 0x80) !== 0) i++;
  const nameAt = i + 1;
  if (buf.length < nameAt + 2) return undefined;
  const levelAt = nameAt + 2 + buf.readUInt16BE(nameAt);
  return levelAt < buf.length ? buf[levelAt] : undefined;
}

/**
 * A TCP relay on 127.0.0.1 in front of the broker, so a test can cut the uplink's socket.
 * `only311`: answers an MQTT 5 CONNECT the way a 3.1.1-only broker does (CONNACK return code 1,
 * "unacceptable protocol version", then close) and relays 3.1.1 clients.
 */
export async function startTcpProxy(targetPort: number, opts: { only311?: boolean } = {}): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((inbound) => {
    if (opts.only311) {
      let head = Buffer.alloc(0);
      const sniff = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const level = connectProtocolLevel(head);
        if (level === undefined && head.length < 64) return;
        inbound.off('data', sniff);
        if (level === 5) {
          inbound.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
          return;
        }
        relay(inbound, head);
      };
      inbound.on('data', sniff);
      inbound.on('error', () => inbound.destroy());
      return;
    }
    relay(inbound, Buffer.alloc(0));
  });
  const relay = (inbound: net.Socket, already: Buffer) => {
    const outbound = net.connect({ port: targetPort, host: '127.0.0.1' });
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    if (already.length > 0) outbound.write(already);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get connections() {
      return pairs.size;
    },
    cut,
    close: async () => {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
