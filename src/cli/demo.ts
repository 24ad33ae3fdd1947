/**
 * `tkgw demo`: everything on one machine. An embedded broker (aedes) plays the cloud, the real
 * gateway ingests simulated trackers of every family, the uplink is cut for a while and comes back,
 * and the demo ends by counting what reached the cloud and what was lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Aedes } from 'aedes';
import type { Command } from 'commander';
import pino from 'pino';
import { GatewayApp } from '../app.js';
import { configSchema } from '../config/schema.js';
import { formatBytes } from '../ops/status.js';
import { startSimulation } from '../sim/simulator.js';

interface DemoFlags {
  devices: string;
  count: string;
  intervalMs: string;
  outageSec: string;
  quick?: boolean;
  keep?: boolean;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The "cloud": an in-process broker whose network side can be cut and restored. */
class EmbeddedCloud {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  readonly received = new Map<number, number>();
  trackerRecords = 0;
  commandResults = 0;

  private constructor(
    readonly broker: Aedes,
    readonly port: number,
  ) {}

  static async start(root: string): Promise<EmbeddedCloud> {
    // Loaded only for the demo: `tkgw start` should not carry an MQTT broker in its memory.
    const { Aedes: AedesBroker } = await import('aedes');
    const broker = await AedesBroker.createBroker();
    const cloud = new EmbeddedCloud(broker, await freePort());
    // An internal subscription: the cloud's consumer lives inside the broker, so only the
    // gateway's link is affected by the outage.
    await new Promise<void>((resolve) =>
      broker.subscribe(`${root}/up/#`, (packet, done) => {
        cloud.consume(packet.topic, packet.payload as Buffer);
        done();
      }, resolve),
    );
    await cloud.listen();
    return cloud;
  }

  private consume(topic: string, payload: Buffer): void {
    if (!/\/up\/(pos|evt)(\/z)?$/.test(topic)) return;
    const body = topic.endsWith('/z') ? gunzipSync(payload) : payload;
    const env = JSON.parse(body.toString()) as { recs: Array<{ seq: number; msgType?: string }> };
    for (const r of env.recs) {
      const seen = this.received.get(r.seq) ?? 0;
      this.received.set(r.seq, seen + 1);
      if (seen === 0 && r.msgType !== undefined) this.trackerRecords++;
    }
  }

  async listen(): Promise<void> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.broker.handle(socket);
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', () => r()));
  }

  /** The depot's link goes down: the listener closes and every connection is dropped. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  async close(): Promise<void> {
    await this.cut();
    await new Promise<void>((r) => this.broker.close(() => r()));
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('gateway, simulated trackers, an embedded broker as the cloud, an uplink outage and its recovery')
    .option('--devices <n>', 'simulated trackers (all four families)', '24')
    .option('--count <m>', 'reports per tracker', '40')
    .option('--interval-ms <t>', 'time between reports', '250')
    .option('--outage-sec <s>', 'how long the uplink is down', '4')
    .option('--quick', 'a short run (tests)')
    .option('--keep', 'keep the data dir')
    .action(async (flags: DemoFlags) => {
      const code = await runDemo(flags);
      process.exitCode = code;
    });
}

async function runDemo(flags: DemoFlags): Promise<number> {
  const devices = flags.quick ? 12 : Number(flags.devices);
  const count = flags.quick ? 16 : Number(flags.count);
  const intervalMs = flags.quick ? 150 : Number(flags.intervalMs);
  const outageMs = (flags.quick ? 1.5 : Number(flags.outageSec)) * 1000;
  const dataDir = mkdtempSync(join(tmpdir(), 'tkgw-demo-'));
  const gatewayId = 'demo-depot';
  const root = `depot/v1/default/gw/${gatewayId}`;
  const out = (line: string) => process.stdout.write(line + '\n');

  const cloud = await EmbeddedCloud.start(root);
  const config = configSchema.parse({
    gatewayId,
    listeners: [{ host: '127.0.0.1', port: 0 }],
    http: { port: 0 },
    store: { dataDir, allowTmpfs: true },
    // aedes speaks MQTT 3.1.1; a real cloud broker would get MQTT 5.
    uplink: { url: `mqtt://127.0.0.1:${cloud.port}`, protocolVersion: 4, reconnectMinMs: 300, reconnectMaxMs: 1500, batchMaxDelayMs: 20 },
  });
  const app = new GatewayApp(config, { log: pino({ level: 'silent' }) });
  await app.start();
  const port = app.addresses.find((a) => a.transport === 'tcp')?.port ?? 0;
  out(`tkgw demo: gateway on 127.0.0.1:${port} (tcp+udp), embedded cloud broker on 127.0.0.1:${cloud.port}, data in ${dataDir}`);
  out(`           ${devices} simulated trackers (h02, gt06, tk103, gps103), ${count} reports each, an alarm every 7th`);

  const sim = startSimulation({ host: '127.0.0.1', port, protocol: 'mixed', devices, count, intervalMs, udp: false, alarmEvery: 7, speedKmh: 30 });
  const view = () => {
    const s = app.status();
    const u = app.uplink?.state();
    out(
      `  devices ${String(s.devices.online).padStart(3)} online | stored ${String(s.records.total).padStart(5)} | backlog ${String(s.backlog.rows).padStart(5)} rows ${formatBytes(s.backlog.bytes).padStart(9)} | uplink ${u?.connected ? 'UP  ' : 'DOWN'} | cloud has ${cloud.trackerRecords}`,
    );
  };
  const ticker = setInterval(view, flags.quick ? 500 : 1000);

  const simDone = sim.done;
  await new Promise((r) => setTimeout(r, (count * intervalMs) / 3));
  out(`>> uplink outage: the depot loses its link for ${outageMs / 1000} s (records keep arriving and are buffered)`);
  await cloud.cut();
  await new Promise((r) => setTimeout(r, outageMs));
  out('>> link restored: alarms go first, then live positions, then the backlog drains');
  await cloud.listen();

  const result = await simDone;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const s = app.status();
    if (s.backlog.rows === 0 && cloud.trackerRecords >= s.records.total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  clearInterval(ticker);
  view();
  const stored = app.status().records.total;
  const duplicates = [...cloud.received.values()].reduce((n, c) => n + c - 1, 0);
  const lost = result.summary.sent - cloud.trackerRecords;
  out('');
  out(`devices sent ${result.summary.sent} reports (${result.summary.acked} protocol ACKs received), gateway stored ${stored}`);
  out(`records that reached the cloud: ${cloud.trackerRecords} (duplicates re-sent after the outage: ${duplicates}, each with its original seq)`);
  out(`lost: ${lost}`);
  await app.stop();
  await cloud.close();
  if (!flags.keep) rmSync(dataDir, { recursive: true, force: true });
  return lost === 0 ? 0 : 2;
}
