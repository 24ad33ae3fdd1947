/** `tkgw sink --mqtt-url URL --db URL`: the reference cloud consumer (see src/sink/sink.ts). */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createLogger } from '../ops/logger.js';
import { openSinkDb } from '../sink/db.js';
import { Sink } from '../sink/sink.js';
import { UserError } from './errors.js';

interface SinkFlags {
  mqttUrl?: string;
  db: string;
  group: string;
  topicRoot: string;
  clientId?: string;
}

export function registerSinkCommand(program: Command): void {
  program
    .command('sink')
    .description('store every gateway record once (SQLite or PostgreSQL) and acknowledge with down/ack')
    .option('--mqtt-url <url>', 'the cloud broker')
    .option('--db <url>', 'sqlite:<path> or postgres://...', 'sqlite:./sink.db')
    .option('--group <name>', 'shared-subscription group (several sinks split the load)', 'tkgw-sink')
    .option('--topic-root <root>', 'gateways to follow', 'depot/v1/+/gw/+')
    .option('--client-id <id>', 'MQTT client id (persistent session)')
    .action(async (flags: SinkFlags) => {
      if (!flags.mqttUrl || !/^mqtts?:\/\//.test(flags.mqttUrl)) throw new UserError('--mqtt-url must be mqtt:// or mqtts://');
      let db;
      try {
        db = await openSinkDb(flags.db);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      const log = createLogger({ level: process.env['TKGW_LOG_LEVEL'] ?? 'info' });
      const sink = new Sink({ mqttUrl: flags.mqttUrl, group: flags.group, topicRoot: flags.topicRoot, clientId: flags.clientId ?? `tkgw-sink-${hostname()}-${process.pid}` }, db, log);
      await sink.start();
      await new Promise<void>((resolve) => {
        const stop = () => void sink.stop().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
