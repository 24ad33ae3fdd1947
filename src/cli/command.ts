/**
 * `tkgw command engine-stop|engine-resume --device ID`: a local operator's command, sent through
 * the running gateway's local HTTP endpoint into the same intake as MQTT requests (validation,
 * signature, guards, lifecycle). Signed with the command key when one is configured.
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { signRequest } from '../commands/request.js';
import { loadConfig, readSecretFile } from '../config/load.js';
import { UserError } from './errors.js';

interface CommandFlags {
  device: string;
  config?: string;
  httpPort?: string;
  expiresInSec?: string;
  maxSpeedKmh?: string;
  reason?: string;
  commandKeyFile?: string;
}

const ACTIONS: Record<string, 'engine_stop' | 'engine_resume'> = { 'engine-stop': 'engine_stop', 'engine-resume': 'engine_resume' };

export function registerCommandCommand(program: Command): void {
  program
    .command('command')
    .description('send engine-stop / engine-resume to a tracker through the running gateway')
    .argument('<action>', 'engine-stop | engine-resume')
    .requiredOption('--device <id>', 'tracker id (IMEI)')
    .option('-c, --config <file>', 'config file of the gateway')
    .option('--http-port <port>', 'local HTTP port of the gateway')
    .option('--expires-in-sec <s>', 'expiry from now (default: commands.defaultExpirySec)')
    .option('--max-speed-kmh <v>', 'speed guard for this command')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--command-key-file <file>', 'HMAC key to sign with')
    .action(async (actionArg: string, flags: CommandFlags) => {
      const action = ACTIONS[actionArg];
      if (!action) throw new UserError(`action must be engine-stop or engine-resume (got "${actionArg}")`);
      const loaded = loadConfig({ file: flags.config, env: process.env, flags: { httpPort: flags.httpPort, commandKeyFile: flags.commandKeyFile } });
      if (!loaded.ok) throw new UserError(`invalid configuration: ${loaded.errors.join('; ')}`);
      const config = loaded.config;
      if (config.http.port === 0) throw new UserError('the gateway runs without its local HTTP endpoint (http.port 0): use MQTT down/cmd/req');
      const expiresIn = flags.expiresInSec ? Number(flags.expiresInSec) : config.commands.defaultExpirySec;
      const request: Record<string, unknown> = {
        v: 1,
        id: `cli-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
        deviceId: flags.device,
        action,
        expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString(),
        issuedBy: `cli:${userInfo().username}`,
      };
      if (flags.maxSpeedKmh) request['guards'] = { maxSpeedKmh: Number(flags.maxSpeedKmh) };
      if (flags.reason) request['reason'] = flags.reason;
      if (config.commands.keyFile) request['sig'] = signRequest(request, Buffer.from(readSecretFile(config.commands.keyFile)));
      const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
      let res: Response;
      try {
        res = await fetch(`http://${host}:${config.http.port}/commands`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(config.http.token ? { authorization: `Bearer ${config.http.token}` } : {}) },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(5000),
        });
      } catch (err) {
        throw new UserError(`gateway not reachable on ${host}:${config.http.port} (${(err as Error).message})`);
      }
      const result = (await res.json()) as { state?: string; reason?: string };
      process.stdout.write(JSON.stringify(result) + '\n');
      if (result.state === 'rejected') throw new UserError(`command rejected: ${result.reason ?? 'no reason given'}`);
    });
}
