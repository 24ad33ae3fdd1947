/**
 * `tkgw sink --mqtt-url URL --db URL`: the reference cloud consumer (see src/sink/sink.ts), and
 * `tkgw sink-gaps --db URL`: what that database holds and misses per gateway.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createLogger } from '../ops/logger.js';
import { openSinkDb, type GapReport, type SinkDb } from '../sink/db.js';
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
  registerSinkGapsCommand(program);
}

interface GapsFlags {
  db: string;
  gw?: string;
  json?: boolean;
  limit: string;
}

export function registerSinkGapsCommand(program: Command): void {
  program
    .command('sink-gaps')
    .description('per gateway: contiguous seq, highest seq, records stored, announced gaps, the missing ranges no gap announced and the dead letters')
    .requiredOption('--db <url>', 'sqlite:<path> or postgres://...')
    .option('--gw <id>', 'one gateway (default: every gateway in the database)')
    .option('--json', 'one JSON document')
    .option('--limit <n>', 'ranges listed per gateway and list (the totals count all)', '1000')
    .action(async (flags: GapsFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UserError('--limit must be a positive integer');
      const db = await openForReading(flags.db);
      try {
        const gws = flags.gw ? [flags.gw] : await db.gateways();
        const reports: GapReport[] = [];
        for (const gw of gws) {
          const r = await db.gapReport(gw, limit);
          if (flags.gw && r.stored === 0 && r.announcedTotal === 0 && r.deadLetters === 0) throw new UserError(`gateway "${gw}" has no records or gaps in ${redact(flags.db)}`);
          reports.push(r);
        }
        // Dead letters whose topic named no gateway belong to none of the reports.
        const unattributed = flags.gw ? 0 : await db.deadLetterCount(null);
        process.stdout.write(
          flags.json ? JSON.stringify({ v: 1, gateways: reports, ...(flags.gw ? {} : { deadLettersWithoutGateway: unattributed }) }) + '\n' : formatReports(reports, unattributed),
        );
      } finally {
        await db.close();
      }
    });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** Opening errors are the user's (wrong path, wrong URL, not a sink database): exit 1, one line. */
async function openForReading(url: string): Promise<SinkDb> {
  let db: SinkDb | undefined;
  try {
    db = await openSinkDb(url, { reader: true });
    if ((await db.schemaVersion()) === 0) throw new Error('no sink tables');
    return db;
  } catch (err) {
    await db?.close().catch(() => undefined);
    const reason = ((err as Error).message || String(err)).split('\n')[0];
    throw new UserError(`cannot read the sink database ${redact(url)}: ${reason}`);
  }
}

export function formatReports(reports: readonly GapReport[], deadLettersWithoutGateway = 0): string {
  const n = String;
  const tail = deadLettersWithoutGateway > 0 ? `dead letters naming no gateway: ${n(deadLettersWithoutGateway)}\n` : '';
  if (reports.length === 0) return 'no gateways in this sink database\n' + tail;
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.gw}: contiguous up to ${n(r.contiguous)}, highest seq ${n(r.maxSeq)}, ${n(r.stored)} records stored`);
    lines.push(`  announced gaps: ${n(r.announcedTotal)}`);
    for (const g of r.announced) lines.push(`    ${n(g.from)}-${n(g.to)}  ${n(g.count)} seqs  ${g.reason || '-'}`);
    if (r.announcedTotal > r.announced.length) lines.push(`    ... and ${n(r.announcedTotal - r.announced.length)} more`);
    lines.push(`  missing, not announced: ${n(r.missingRanges)} ranges, ${n(r.missingSeqs)} seqs`);
    for (const m of r.missing) lines.push(`    ${n(m.from)}-${n(m.to)}  ${n(m.count)} seqs`);
    if (r.missingRanges > r.missing.length) lines.push(`    ... and ${n(r.missingRanges - r.missing.length)} more ranges`);
    lines.push(`  dead letters (messages acknowledged unstored): ${n(r.deadLetters)}`);
  }
  return lines.join('\n') + '\n' + tail;
}
