/**
 * `tkgw start`: load and validate the config (every error at once, before any port is bound),
 * run the gateway, stop gracefully on SIGTERM/SIGINT.
 */
import type { Command } from 'commander';
import { GatewayApp } from '../app.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../ops/logger.js';
import { createSystemdNotifier } from '../ops/systemd-notify.js';
import { UserError } from './errors.js';
import { governsFloodMode, setFloodMode } from './v8-memory.js';

export interface StartFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  gatewayId?: string;
  mqttUrl?: string;
  tenant?: string;
  httpPort?: string;
  commandKeyFile?: string;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the gateway (TCP+UDP 0.0.0.0:8888, data in ./data unless configured)')
    .option('-c, --config <file>', 'config file (YAML or JSON)')
    .option('--host <host>', 'tracker listener address')
    .option('--port <port>', 'tracker listener port (TCP and UDP)')
    .option('--data-dir <dir>', 'where the SQLite store lives')
    .option('--gateway-id <id>', 'gateway id used in MQTT topics and as client id')
    .option('--mqtt-url <url>', 'cloud broker, mqtt:// or mqtts://')
    .option('--tenant <tenant>', 'tenant in the MQTT topic root')
    .option('--http-port <port>', 'local HTTP endpoint port (0 = off)')
    .option('--command-key-file <file>', 'HMAC key for signed commands')
    .action(async (flags: StartFlags) => {
      await runGateway(flags);
    });
}

export async function runGateway(flags: StartFlags): Promise<void> {
  const loaded = loadConfig({
    file: flags.config,
    env: process.env,
    flags: {
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      gatewayId: flags.gatewayId,
      mqttUrl: flags.mqttUrl,
      tenant: flags.tenant,
      httpPort: flags.httpPort,
      commandKeyFile: flags.commandKeyFile,
    },
  });
  if (!loaded.ok) {
    throw new UserError(`invalid configuration:\n  ${loaded.errors.join('\n  ')}`);
  }
  const config = loaded.config;
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty });
  for (const w of loaded.warnings) log.warn(w);
  const app = new GatewayApp(config, {
    log,
    notify: createSystemdNotifier(process.env),
    uplinkProblems: loaded.uplinkProblems,
    ...(governsFloodMode ? { heapGrowth: { apply: setFloodMode } } : {}),
  });
  try {
    await app.start();
  } catch (err) {
    await app.stop().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UserError(`cannot listen: ${(err as Error).message}`);
    }
    if ((err as { name?: string }).name === 'StoreError') throw new UserError((err as Error).message);
    throw err;
  }
  log.info({ gatewayId: config.gatewayId, dataDir: config.store.dataDir, uplink: config.uplink.url ?? null }, 'gateway started');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      // A second signal or a stuck close must not keep a supervisor waiting forever.
      setTimeout(() => {
        log.error('shutdown took too long: exiting');
        process.exit(2);
      }, 20_000).unref();
      app.stop().then(resolve, (err: unknown) => {
        log.error({ err: String(err) }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
