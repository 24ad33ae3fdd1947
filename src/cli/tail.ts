/**
 * `tkgw tail`: subscribes to the gateway's uplink topics and prints them readably, one line per
 * record or status (what the cloud receives, as a technician would want to read it).
 */
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { topicRoot } from '../uplink/topics.js';
import { UserError } from './errors.js';

interface TailFlags {
  config?: string;
  mqttUrl?: string;
  gatewayId?: string;
  tenant?: string;
  json?: boolean;
}

export function registerTailCommand(program: Command): void {
  program
    .command('tail')
    .description("print the gateway's uplink traffic (up/#) readably")
    .option('-c, --config <file>', 'config file of the gateway')
    .option('--mqtt-url <url>', 'broker to subscribe on')
    .option('--gateway-id <id>', 'gateway to follow')
    .option('--tenant <tenant>', 'tenant in the topic root')
    .option('--json', 'print raw JSON payloads')
    .action(async (flags: TailFlags) => {
      const loaded = loadConfig({ file: flags.config, env: process.env, flags: { mqttUrl: flags.mqttUrl, gatewayId: flags.gatewayId, tenant: flags.tenant } });
      if (!loaded.ok) throw new UserError(`invalid configuration: ${loaded.errors.join('; ')}`);
      const c = loaded.config;
      if (!c.uplink.url) throw new UserError('no broker: pass --mqtt-url or set uplink.url');
      const root = topicRoot(c.uplink.topicRoot, c.tenant, c.gatewayId);
      const { default: mqtt } = await import('mqtt');
      const client = mqtt.connect(c.uplink.url, { clientId: `tkgw-tail-${process.pid}`, protocolVersion: 5, reconnectPeriod: 1000 });
      client.on('connect', () => {
        process.stderr.write(`tail: subscribed to ${root}/up/# on ${c.uplink.url}\n`);
        void client.subscribe(`${root}/up/#`, { qos: 1 });
      });
      client.on('error', (err) => process.stderr.write(`tail: ${err.message}\n`));
      client.on('message', (topic, payload) => {
        const body = topic.endsWith('/z') ? gunzipSync(payload) : payload;
        const kind = topic.slice(root.length + 1);
        if (flags.json) {
          process.stdout.write(`${kind} ${body.toString()}\n`);
          return;
        }
        for (const line of describe(kind, body.toString())) process.stdout.write(line + '\n');
      });
      await new Promise<void>((resolve) => {
        const stop = () => client.end(false, {}, () => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

export function describe(kind: string, text: string): string[] {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return [`${kind} (not JSON) ${text.slice(0, 200)}`];
  }
  if (kind.startsWith('up/pos') || kind.startsWith('up/evt')) {
    const recs = (msg['recs'] as Array<Record<string, unknown>> | undefined) ?? [];
    return recs.map((r) => {
      const where = r['lat'] !== undefined ? ` ${String(r['lat'])},${String(r['lon'])}` : '';
      const speed = r['speedKmh'] !== undefined ? ` ${String(r['speedKmh'])} km/h` : '';
      const alarms = Array.isArray(r['alarms']) && r['alarms'].length ? ` ALARM ${(r['alarms'] as string[]).join(',')}` : '';
      const extra = r['ignition'] !== undefined ? ` ign=${r['ignition'] ? 'on' : 'off'}` : '';
      const relay = r['relay'] !== undefined ? ` relay=${String(r['relay'])}` : '';
      return `${msg['hist'] ? 'hist' : 'live'} #${String(r['seq'])} ${String(r['deviceId'] ?? '-')} ${String(r['protocol'] ?? '')} ${String(r['type'])}${where}${speed}${extra}${relay}${alarms}`;
    });
  }
  if (kind === 'up/cmd/res') return [`command ${String(msg['id'])} ${String(msg['deviceId'])} ${String(msg['action'])} -> ${String(msg['state'])}${msg['reason'] ? ` (${String(msg['reason'])})` : ''}`];
  if (kind === 'up/status') return [`gateway ${String(msg['state'])} session ${String(msg['session'])}`];
  if (kind === 'up/health') {
    const b = msg['backlog'] as { rows?: number } | undefined;
    return [`health backlog ${b?.rows ?? '?'} rows, devices ${JSON.stringify(msg['devices'])}`];
  }
  return [`${kind} ${text.slice(0, 300)}`];
}
