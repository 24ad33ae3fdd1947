/**
 * Structured, leveled logs (pino) to stdout: journald keeps them under systemd, pm2 under pm2.
 * Secrets never reach a log line: the redaction list covers every field that could carry one.
 */
import pino from 'pino';

export interface LoggerOptions {
  level: string;
  /** one human-readable line per entry instead of JSON (for a technician at a terminal) */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'key',
  '*.key',
  'sig',
  '*.sig',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

export function createLogger(options: LoggerOptions): pino.Logger {
  const destination = options.pretty ? prettyStream(options.destination ?? process.stdout) : (options.destination ?? pino.destination({ sync: false }));
  return pino(
    {
      level: options.level,
      base: { svc: 'tkgw' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream,
  );
}

/** Turns pino's JSON lines into `time level msg key=value ...` without another dependency. */
function prettyStream(out: NodeJS.WritableStream): pino.DestinationStream {
  return {
    write(line: string) {
      try {
        const { time, level, msg, svc: _svc, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const fields = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        out.write(`${String(time).slice(11, 23)} ${String(level).toUpperCase().padEnd(5)} ${String(msg ?? '')}${fields ? '  ' + fields : ''}\n`);
      } catch {
        out.write(line);
      }
    },
  };
}
