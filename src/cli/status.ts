/**
 * `tkgw status [--json] [--data-dir D]`: from the running gateway's local HTTP endpoint when it
 * answers, otherwise straight from the store on disk.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { formatStatus, type StatusSnapshot } from '../ops/status.js';
import { readStoreSnapshot } from '../store/snapshot.js';
import { UserError } from './errors.js';

interface StatusFlags {
  json?: boolean;
  dataDir?: string;
  config?: string;
  httpPort?: string;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('gateway state: devices, records, backlog, uplink, commands')
    .option('--json', 'machine-readable output')
    .option('--data-dir <dir>', 'data dir of the gateway')
    .option('-c, --config <file>', 'config file of the gateway')
    .option('--http-port <port>', 'local HTTP port of the running gateway')
    .action(async (flags: StatusFlags) => {
      const loaded = loadConfig({ file: flags.config, env: process.env, flags: { dataDir: flags.dataDir, httpPort: flags.httpPort } });
      if (!loaded.ok) throw new UserError(`invalid configuration: ${loaded.errors.join('; ')}`);
      const config = loaded.config;
      let snapshot: StatusSnapshot | undefined;
      let source = '';
      if (config.http.port !== 0) {
        snapshot = await fetchStatus(config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host, config.http.port, config.http.token);
        source = `http://${config.http.host}:${config.http.port}/status`;
      }
      const running = snapshot !== undefined;
      if (!snapshot) {
        snapshot = readFromStore(config.store.dataDir);
        source = `store ${config.store.dataDir}`;
      }
      process.stdout.write(flags.json ? JSON.stringify(snapshot) + '\n' : formatStatus(snapshot, { running, source }) + '\n');
    });
}

async function fetchStatus(host: string, port: number, token: string | undefined): Promise<StatusSnapshot | undefined> {
  try {
    const res = await fetch(`http://${host}:${port}/status`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
    return (await res.json()) as StatusSnapshot;
  } catch {
    return undefined;
  }
}

function readFromStore(dataDir: string): StatusSnapshot {
  let s;
  try {
    s = readStoreSnapshot(dataDir);
  } catch (err) {
    throw new UserError(`cannot read the gateway's store: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    devices: { known: s.devicesKnown, online: 0 },
    records: { total: s.totalRecords, lastSeq: s.lastSeq },
    backlog: { rows: s.backlog.rows, bytes: s.backlog.bytes, oldestAgeSec: Math.round(s.backlog.oldestAgeSec) },
    uplink: { connected: false, session: s.uplinkSession, lastAckAt: null },
    commands: { pending: s.pendingCommands },
  };
}
