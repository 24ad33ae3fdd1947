/**
 * Chaos run: the real gateway process, a real mosquitto behind a fault proxy, a cloud consumer
 * that acknowledges what it stored (`ackMode: app`), and simulated GT06 trackers (every GT06
 * frame is ACKed, so the simulator knows exactly what the gateway promised to keep). Faults are
 * injected on a schedule; at the end a reconciler compares what the devices had ACKed with what
 * the cloud received. Lost must be 0; duplicates are counted and must carry their original seq.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.js';
import { CLI, spawnGateway } from '../helpers/gateway.js';
import { FaultProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

export interface ChaosOptions {
  devices: number;
  reports: number;
  intervalMs: number;
  /** seconds between faults */
  faultEverySec: number;
  quotaMb: number;
  /** the cellular-like uplink the proxy imitates */
  uplinkBytesPerSec?: number;
  /** how long the drain after the faults may take */
  drainTimeoutSec?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  faults: string[];
  devicesAcked: number;
  cloudRecords: number;
  /** ACKed reports that never reached the cloud beyond what announced `gap` records account for */
  lost: number;
  /** ACKed reports missing at the cloud because the disk quota evicted them (announced) */
  missingInAnnouncedGaps: number;
  evictedReported: number;
  duplicates: number;
  duplicatesWithOtherSeq: number;
  durationSec: number;
}

/** The cloud: stores records by seq and acknowledges the highest contiguous seq it holds. */
class AckingCloud {
  readonly bySeq = new Map<number, string | null>();
  readonly rawSeqs = new Map<string, Set<number>>();
  covered = new Set<number>();
  receivedTotal = 0;
  evicted = 0;
  private contiguous = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly client: MqttClient,
    readonly root: string,
  ) {}

  static async connect(url: string, root: string): Promise<AckingCloud> {
    const client = mqtt.connect(url, { clientId: `chaos-cloud-${process.pid}`, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 200 });
    const cloud = new AckingCloud(client, root);
    client.on('message', (topic, payload) => cloud.onMessage(topic, payload));
    // Subscribe on every connect: a broker killed with -9 forgot the session.
    client.on('connect', () => void client.subscribe(`${root}/up/#`, { qos: 1 }));
    await new Promise<void>((r) => client.once('connect', () => r()));
    cloud.timer = setInterval(() => cloud.ack(), 200);
    return cloud;
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (!/\/up\/(pos|evt)(\/z)?$/.test(topic)) return;
    const body = topic.endsWith('/z') ? gunzipSync(payload) : payload;
    const env = JSON.parse(body.toString()) as { recs: Array<{ seq: number; raw?: string; deviceId?: string | null; type?: string; fromSeq?: number; toSeq?: number; count?: number }> };
    for (const r of env.recs) {
      this.receivedTotal++;
      if (!this.bySeq.has(r.seq)) this.bySeq.set(r.seq, r.raw ?? null);
      this.covered.add(r.seq);
      if (r.raw) {
        // GT06 frames after the login carry no id, so a report is (device, frame).
        const key = `${r.deviceId ?? ''}|${r.raw}`;
        const seqs = this.rawSeqs.get(key) ?? new Set<number>();
        seqs.add(r.seq);
        this.rawSeqs.set(key, seqs);
      }
      if (r.type === 'gap' && r.fromSeq !== undefined && r.toSeq !== undefined) {
        // Evicted by the quota policy: announced, so the cloud can acknowledge past them.
        this.evicted += r.count ?? 0;
        for (let s = r.fromSeq; s <= r.toSeq; s++) this.covered.add(s);
      }
    }
  }

  private ack(): void {
    while (this.covered.has(this.contiguous + 1)) this.contiguous++;
    if (this.contiguous > 0 && this.client.connected) {
      this.client.publish(`${this.root}/down/ack`, JSON.stringify({ v: 1, upTo: this.contiguous }), { qos: 1 });
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.client.endAsync(true);
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const tmp = tempDir('tkgw-chaos-');
  const faults: string[] = [];
  let broker: TestBroker | undefined;
  let proxy: FaultProxy | undefined;
  let cloud: AckingCloud | undefined;
  let gateway: { child: ChildProcess } | undefined;
  let sim: ChildProcess | undefined;
  try {
    broker = await startBroker();
    proxy = new FaultProxy({ targetPort: broker.port, latencyMs: 40, bytesPerSec: opts.uplinkBytesPerSec ?? 256 * 1024 });
    await proxy.start();
    const gatewayId = `chaos-${process.pid}`;
    const root = `depot/v1/default/gw/${gatewayId}`;
    cloud = await AckingCloud.connect(broker.url, root);
    const port = await freePort();
    const httpPort = await freePort();
    const configFile = join(tmp.dir, 'config.yaml');
    writeFileSync(
      configFile,
      [
        `gatewayId: ${gatewayId}`,
        'limits:',
        '  maxConnectionsPerIp: 5000',
        'store:',
        `  quotaMb: ${opts.quotaMb}`,
        '  allowTmpfs: true',
        'uplink:',
        `  url: mqtt://127.0.0.1:${proxy.port}`,
        '  ackMode: app',
        '  includeRaw: true',
        '  publishTimeoutSec: 2',
        // A broker killed with -9 loses what it had PUBACKed but not delivered: resend soon.
        '  appAckTimeoutSec: 8',
        '  reconnectMinMs: 200',
        '  reconnectMaxMs: 1500',
        '  keepaliveSec: 5',
        '',
      ].join('\n'),
    );
    const args = ['-c', configFile, '--host', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--data-dir', join(tmp.dir, 'data')];
    gateway = await spawnGateway(args);
    const report = join(tmp.dir, 'sim.json');
    sim = spawn(process.execPath, [CLI, 'simulate', '--port', String(port), '--protocol', 'gt06', '--devices', String(opts.devices), '--count', String(opts.reports), '--interval-ms', String(opts.intervalMs), '--alarm-every', '9', '--report', report], { stdio: 'ignore' });
    const simDone = new Promise<void>((r) => sim?.once('exit', () => r()));
    let simFinished = false;
    void simDone.then(() => (simFinished = true));

    const schedule: Array<[string, () => Promise<void>]> = [
      ['broker kill -9 and restart', async () => {
        await broker?.kill('SIGKILL');
        await sleep(1500);
        await broker?.restart();
      }],
      ['uplink link cut (proxy drops every connection)', async () => proxy?.cutAll()],
      ['broker hung (SIGSTOP 4 s)', async () => {
        broker?.pause();
        await sleep(4000);
        broker?.resume();
      }],
      ['gateway kill -9 during ingest and drain, restart', async () => {
        gateway?.child.kill('SIGKILL');
        await new Promise((r) => gateway?.child.once('exit', r));
        await sleep(500);
        gateway = await spawnGateway(args);
      }],
      ['broker kill -9 while the gateway drains its backlog', async () => {
        await broker?.kill('SIGKILL');
        await sleep(2500);
        await broker?.restart();
      }],
    ];
    for (const [name, fault] of schedule) {
      await sleep(opts.faultEverySec * 1000);
      if (simFinished) break;
      log(`fault: ${name}`);
      faults.push(name);
      await fault();
    }
    await simDone;
    log('devices done; waiting for the outbox to drain and the cloud to acknowledge');
    const statusUrl = `http://127.0.0.1:${httpPort}/status`;
    await waitFor(
      async () => {
        try {
          const s = (await (await fetch(statusUrl)).json()) as { backlog: { rows: number } };
          return s.backlog.rows === 0;
        } catch {
          return false;
        }
      },
      'the gateway outbox to empty (cloud acknowledged everything)',
      (opts.drainTimeoutSec ?? 120) * 1000,
      250,
    );
    const result = JSON.parse(readFileSync(report, 'utf8')) as { devices: Array<{ id: string; ackedFrames: string[] }> };
    const acked = result.devices.flatMap((d) => d.ackedFrames.map((hex) => `${d.id}|${hex}`));
    // GT06 frames carry a serial, so an equal (device, frame) pair is the same report sent again.
    const missing = acked.filter((key) => !cloud?.rawSeqs.has(key));
    let duplicates = 0;
    let otherSeq = 0;
    const uniqueRecords = cloud.bySeq.size;
    duplicates = cloud.receivedTotal - uniqueRecords;
    for (const seqs of cloud.rawSeqs.values()) if (seqs.size > 1) otherSeq += seqs.size - 1;
    return {
      faults,
      devicesAcked: acked.length,
      cloudRecords: uniqueRecords,
      // The cloud knows evicted seq ranges, not which frames they held: a missing report is
      // accounted for only as far as the announced evictions reach.
      lost: Math.max(0, missing.length - cloud.evicted),
      missingInAnnouncedGaps: Math.min(missing.length, cloud.evicted),
      evictedReported: cloud.evicted,
      duplicates,
      duplicatesWithOtherSeq: otherSeq,
      durationSec: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    sim?.kill('SIGKILL');
    gateway?.child.kill('SIGTERM');
    if (gateway) await new Promise((r) => (gateway?.child.exitCode !== null ? r(undefined) : gateway?.child.once('exit', r)));
    await cloud?.close().catch(() => undefined);
    await proxy?.stop();
    await broker?.stop();
    tmp.cleanup();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
