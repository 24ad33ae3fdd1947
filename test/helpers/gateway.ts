/**
 * The real gateway (GatewayApp) in-process on 127.0.0.1 port 0 with a temp data dir, and the
 * built CLI for tests that need a separate process (kill -9, the CLI contract).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { GatewayApp, type AppDeps } from '../../src/app.js';
import { configSchema, type ConfigInput, type GatewayConfig } from '../../src/config/schema.js';
import { tempDir } from './tmp.js';
import { waitFor } from './net.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface RunningGateway {
  app: GatewayApp;
  config: GatewayConfig;
  port: number;
  httpPort: number | undefined;
  dataDir: string;
  stop(): Promise<void>;
}

type Over = { [K in keyof ConfigInput]?: ConfigInput[K] };

export async function startGateway(over: Over = {}, dataDir?: string, deps: Omit<AppDeps, 'log'> = {}): Promise<RunningGateway> {
  const tmp = dataDir ? undefined : tempDir('tkgw-gw-');
  const dir = dataDir ?? (tmp as { dir: string }).dir;
  const input: ConfigInput = {
    gatewayId: `gw-${process.pid}-${Math.floor(Math.random() * 1e9)}`,
    listeners: [{ host: '127.0.0.1', port: 0, tcp: true, udp: true }],
    http: { port: 0 },
    ...over,
    store: { synchronous: 'normal', allowTmpfs: true, ...(over.store ?? {}), dataDir: dir },
  };
  const config = configSchema.parse(input);
  const app = new GatewayApp(config, { log: pino({ level: process.env['TKGW_TEST_LOG'] ?? 'silent' }), ...deps });
  await app.start();
  const port = app.addresses.find((a) => a.transport === 'tcp')?.port ?? 0;
  const httpPort = app.addresses.find((a) => a.transport === 'http')?.port;
  return {
    app,
    config,
    port,
    httpPort,
    dataDir: dir,
    stop: async () => {
      await app.stop();
      tmp?.cleanup();
    },
  };
}

/** Runs the built CLI; resolves with exit code and output. */
export function runCli(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tkgw ${args.join(' ')} timed out; stderr: ${stderr.slice(-500)}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Starts the built gateway as its own process and waits until its tracker port answers. */
/** completed runs of a scheduled job in a gateway's debug log ('job done' lines of src/ops/jobs.ts) */
export function jobRuns(logs: string, job: string): number {
  return logs.split('\n').filter((l) => l.includes('"job done"') && l.includes(`"job":"${job}"`)).length;
}

export async function spawnGateway(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; logs: () => string }> {
  const child = spawn(process.execPath, [CLI, 'start', ...args], { env: { ...process.env, TKGW_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
  await waitFor(() => logs.includes('gateway started') || child.exitCode !== null, 'gateway process to start', 20_000);
  if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${logs.slice(-1000)}`);
  return { child, logs: () => logs };
}
