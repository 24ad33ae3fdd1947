/**
 * `tkgw`: the gateway's command line (CONTRACT section 1). Exit status 0 on success, 1 on a user
 * error (with a one-line reason), 2 on an internal failure. Loaded by `src/cli.ts` once V8's
 * memory settings are in place.
 */
import { Command, CommanderError } from 'commander';
import { registerCheckConfigCommand } from './check-config.js';
import { registerCommandCommand } from './command.js';
import { registerDecodeCommand } from './decode.js';
import { registerDemoCommand } from './demo.js';
import { EXIT_INTERNAL, EXIT_USER_ERROR, UserError } from './errors.js';
import { registerSimulateCommand } from './simulate.js';
import { registerSinkCommand } from './sink.js';
import { registerStartCommand } from './start.js';
import { registerStatusCommand } from './status.js';
import { registerTailCommand } from './tail.js';
import { GATEWAY_VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tkgw')
    .description('tk100b-gateway: edge gateway for CanTrack TK100B (H02/GT06/TK103/GPS103) trackers')
    .version(GATEWAY_VERSION)
    .exitOverride()
    .showHelpAfterError('(run tkgw --help for usage)');
  registerStartCommand(program);
  registerDecodeCommand(program);
  registerSimulateCommand(program);
  registerStatusCommand(program);
  registerCommandCommand(program);
  registerDemoCommand(program);
  registerTailCommand(program);
  registerSinkCommand(program);
  registerCheckConfigCommand(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USER_ERROR;
    }
    if (err instanceof UserError) {
      process.stderr.write(`tkgw: ${err.message}\n`);
      return EXIT_USER_ERROR;
    }
    process.stderr.write(`tkgw: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_INTERNAL;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tkgw: internal error: ${String(err)}\n`);
    process.exitCode = EXIT_INTERNAL;
  },
);
