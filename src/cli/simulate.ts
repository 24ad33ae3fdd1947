/**
 * `tkgw simulate`: N trackers of a family against a gateway (CONTRACT 1). Prints exactly one JSON
 * summary line at the end, also when stopped by SIGINT or SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PROTOCOL_FAMILIES } from '../protocol/types.js';
import { startSimulation, type SimProtocol } from '../sim/simulator.js';
import { UserError } from './errors.js';

interface SimulateFlags {
  host: string;
  port: string;
  protocol: string;
  devices: string;
  count: string;
  intervalMs: string;
  burst: string;
  udp?: boolean;
  alarmEvery: string;
  heartbeatEvery: string;
  speedKmh: string;
  idOffset: string;
  report?: string;
}

function int(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`--${name} must be an integer ${min}..${max} (got "${value}")`);
  return n;
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('simulated trackers speaking a protocol family to a gateway')
    .option('--host <host>', 'gateway address', '127.0.0.1')
    .option('--port <port>', 'gateway port', '8888')
    .option('--protocol <family>', `${PROTOCOL_FAMILIES.join('|')}|mixed`, 'h02')
    .option('--devices <n>', 'number of trackers', '1')
    .option('--count <m>', 'reports per tracker after login', '10')
    .option('--interval-ms <t>', 'time between reports', '1000')
    .option('--burst <b>', 'reports written together at each interval, like a unit uploading stored positions', '1')
    .option('--udp', 'report over UDP (GT06 units stay on TCP)')
    .option('--alarm-every <k>', 'every k-th report is an SOS alarm (0 = never)', '0')
    .option('--heartbeat-every <k>', 'every k-th report is a heartbeat (0 = never)', '5')
    .option('--speed-kmh <v>', 'vehicle speed', '0')
    .option('--id-offset <n>', 'added to the IMEI base, so several processes never collide', '0')
    .option('--report <file>', 'write per-device results (incl. ACKed frames) as JSON')
    .action(async (flags: SimulateFlags) => {
      const protocol = flags.protocol as SimProtocol;
      if (protocol !== 'mixed' && !(PROTOCOL_FAMILIES as readonly string[]).includes(protocol)) {
        throw new UserError(`--protocol must be one of ${PROTOCOL_FAMILIES.join(', ')}, mixed (got "${flags.protocol}")`);
      }
      const sim = startSimulation({
        host: flags.host,
        port: int('port', flags.port, 1, 65535),
        protocol,
        devices: int('devices', flags.devices, 1, 100_000),
        count: int('count', flags.count, 0, 10_000_000),
        intervalMs: int('interval-ms', flags.intervalMs, 0, 3_600_000),
        burst: int('burst', flags.burst, 1, 1000),
        udp: flags.udp ?? false,
        alarmEvery: int('alarm-every', flags.alarmEvery, 0, 1_000_000),
        heartbeatEvery: int('heartbeat-every', flags.heartbeatEvery, 0, 1_000_000),
        speedKmh: Number(flags.speedKmh),
        idOffset: int('id-offset', flags.idOffset, 0, 1e12),
        keepAckedFrames: flags.report !== undefined,
      });
      const onSignal = () => sim.stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const result = await sim.done;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (flags.report) writeFileSync(flags.report, JSON.stringify({ summary: result.summary, byFamily: result.byFamily, devices: result.devices }));
      process.stdout.write(JSON.stringify(result.summary) + '\n');
    });
}
