/** `tkgw check-config -c FILE`: validate a config; every error at once; exit 1 on any. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { UserError } from './errors.js';

export function registerCheckConfigCommand(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file and print every problem at once')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .action((opts: { config: string }) => {
      // The environment is not applied here: the file alone is what is being checked.
      const result = loadConfig({ file: opts.config, env: {} });
      if (!result.ok) {
        for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        throw new UserError(`${opts.config}: ${result.errors.length} error(s)`);
      }
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      if (result.uplinkProblems.length > 0) throw new UserError(`${opts.config}: uplink files are missing or unreadable`);
      const c = result.config;
      process.stdout.write(
        `config OK: gateway ${c.gatewayId}, tenant ${c.tenant}, ` +
          `${c.listeners.map((l) => `${l.tcp ? 'tcp' : ''}${l.tcp && l.udp ? '+' : ''}${l.udp ? 'udp' : ''} ${l.host}:${l.port}`).join(', ')}, ` +
          `data ${c.store.dataDir}, uplink ${c.uplink.url ?? 'none (buffer only)'}\n`,
      );
    });
}
