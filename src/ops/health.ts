/**
 * The `up/health` payload: the gateway's own figures plus the box's (systeminformation). Built
 * once a minute off the hot path.
 */
import { readFileSync, statfsSync } from 'node:fs';
import type { IngestCounters } from '../ingest/connection.js';
import type { StoreStats } from '../store/types.js';

export interface HealthSources {
  store(): StoreStats;
  dataDir: string;
  ingest(): IngestCounters;
  devices(): { known: number; online: number };
  connections(): { tcp: number; udp: number };
  uplink(): { connected: boolean; session: number; bytesSentToday: number; reconnects: number } | undefined;
  startedAtMs: number;
  now(): number;
}

/** Bytes this process has written to storage since it started (Linux /proc/self/io). */
export function processWriteBytes(): number | undefined {
  try {
    const m = /write_bytes:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export class FlashWriteMeter {
  private dayStartBytes: number | undefined = processWriteBytes();
  /** bytes written since the last daily reset (node-cron at midnight) */
  today(): number | undefined {
    const now = processWriteBytes();
    return now === undefined || this.dayStartBytes === undefined ? undefined : now - this.dayStartBytes;
  }
  resetDay(): void {
    this.dayStartBytes = processWriteBytes();
  }
}

export async function collectHealth(src: HealthSources, flash: FlashWriteMeter): Promise<Record<string, unknown>> {
  const stats = src.store();
  const ingest = src.ingest();
  // Loaded at the first health tick, not at start: a gateway without an uplink never needs it.
  const { default: si } = await import('systeminformation');
  const [temp, load, mem] = await Promise.all([
    si.cpuTemperature().catch(() => undefined),
    si.currentLoad().catch(() => undefined),
    si.mem().catch(() => undefined),
  ]);
  let freeDiskBytes: number | undefined;
  try {
    const fs = statfsSync(src.dataDir);
    freeDiskBytes = fs.bavail * fs.bsize;
  } catch {
    freeDiskBytes = undefined;
  }
  const devices = src.devices();
  const uplink = src.uplink();
  return {
    ts: new Date(src.now()).toISOString(),
    uptimeSec: Math.round((src.now() - src.startedAtMs) / 1000),
    backlog: { rows: stats.backlog.rows, bytes: stats.backlog.bytes, oldestAgeSec: Math.round(stats.backlog.oldestAgeSec) },
    evicted: stats.evictedRows,
    lastSeq: stats.lastSeq,
    dbBytes: stats.dbBytes,
    freeDiskBytes,
    bytesWrittenToday: flash.today(),
    uplinkBytesToday: uplink?.bytesSentToday,
    cpu: { tempC: temp?.main ?? null, loadPct: load ? Math.round(load.currentLoad * 10) / 10 : null },
    memory: { rssBytes: process.memoryUsage().rss, availableBytes: mem?.available ?? null, totalBytes: mem?.total ?? null },
    devices: { online: devices.online, offline: devices.known - devices.online },
    connections: src.connections(),
    counters: {
      records: ingest.records,
      acks: ingest.acks,
      decodeErrors: ingest.decodeErrors,
      unattributed: ingest.unattributed,
      storeRejected: ingest.storeRejected,
      ackP99Ms: ingest.ackLatency.percentile(99) ?? null,
      reconnects: uplink?.reconnects ?? 0,
    },
  };
}
