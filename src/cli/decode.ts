/**
 * `tkgw decode` (CONTRACT 1.1): offline decoder for captures. Each non-empty stdin line is the hex
 * of one TCP read (spaces allowed); `---` starts a new connection; with `--udp` each line is one
 * datagram. One JSON object per decoded message on stdout, errors as `type: "error"` lines.
 */
import type { Command } from 'commander';
import { toRecord } from '../ingest/record.js';
import { PROTOCOL_MODULES } from '../protocol/families.js';
import { ProtocolStream, type StreamEvent } from '../protocol/stream.js';
import { PROTOCOL_FAMILIES, type ProtocolFamily } from '../protocol/types.js';
import { UserError } from './errors.js';

export interface DecodeCaptureOptions {
  udp?: boolean;
  protocol?: ProtocolFamily;
  receivedAt?: Date;
  maxFrameBytes?: number;
}

const SEPARATOR = '---';

/** Decodes a capture; yields output objects in order. Never throws for bad input. */
export function* decodeCapture(text: string, options: DecodeCaptureOptions = {}): Generator<Record<string, unknown>> {
  const receivedAt = options.receivedAt ?? new Date();
  const newStream = () =>
    new ProtocolStream({
      modules: PROTOCOL_MODULES,
      maxFrameBytes: options.maxFrameBytes ?? 4096,
      maxBytesBeforeDetect: 512,
      family: options.protocol,
    });
  let conn = 0;
  let stream = newStream();
  let sawData = false;
  let lineNo = 0;
  for (const rawLine of text.split(/\r?\n/)) {
    lineNo++;
    const line = rawLine.trim();
    if (line === '') continue;
    if (line === SEPARATOR) {
      if (!options.udp) {
        yield* present(stream.end(receivedAt), conn, options.protocol, receivedAt);
        if (sawData) conn++;
        stream = newStream();
        sawData = false;
      }
      continue;
    }
    const hex = line.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) {
      yield { type: 'error', protocol: options.protocol ?? null, error: `line ${lineNo}: not hex (odd length or non-hex characters)`, hex: line.slice(0, 200), conn };
      continue;
    }
    const bytes = Buffer.from(hex, 'hex');
    if (options.udp) {
      yield* present(stream.datagram(bytes, receivedAt), conn, options.protocol, receivedAt);
      conn++;
    } else {
      sawData = true;
      yield* present(stream.push(bytes, receivedAt), conn, options.protocol, receivedAt);
    }
  }
  if (!options.udp) yield* present(stream.end(receivedAt), conn, options.protocol, receivedAt);
}

function* present(events: StreamEvent[], conn: number, forced: ProtocolFamily | undefined, receivedAt: Date): Generator<Record<string, unknown>> {
  for (const event of events) {
    switch (event.kind) {
      case 'detected':
        break;
      case 'undetected':
        yield { type: 'error', protocol: forced ?? null, error: `unrecognised protocol: ${event.reason}`, hex: event.bytes.toString('hex'), conn };
        break;
      case 'junk':
        yield { type: 'error', protocol: event.family, error: `discarded bytes: ${event.reason}`, hex: event.bytes.toString('hex'), conn };
        break;
      case 'decode_error':
        yield { type: 'error', protocol: event.family, error: event.error.message, hex: event.frame.toString('hex'), conn };
        break;
      case 'messages':
        for (const { message, ack } of event.messages) {
          const out: Record<string, unknown> = { ...toRecord(message, message.deviceId ?? null, receivedAt), conn };
          if (ack) out['ack'] = ack.toString('hex');
          yield out;
        }
        break;
    }
  }
}

export function registerDecodeCommand(program: Command): void {
  program
    .command('decode')
    .description('decode a capture from stdin: one hex TCP read per line, "---" between connections')
    .option('--udp', 'each line is one UDP datagram')
    .option('--protocol <family>', `auto|${PROTOCOL_FAMILIES.join('|')}`, 'auto')
    .action(async (opts: { udp?: boolean; protocol: string }) => {
      let protocol: ProtocolFamily | undefined;
      if (opts.protocol !== 'auto') {
        if (!(PROTOCOL_FAMILIES as readonly string[]).includes(opts.protocol)) {
          throw new UserError(`--protocol must be auto, ${PROTOCOL_FAMILIES.join(', ')} (got "${opts.protocol}")`);
        }
        protocol = opts.protocol as ProtocolFamily;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      for (const obj of decodeCapture(text, { udp: opts.udp, protocol })) {
        process.stdout.write(JSON.stringify(obj) + '\n');
      }
    });
}
