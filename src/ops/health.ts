/**
 * The `up/health` payload: the gateway's own figures plus the box's (CPU temperature, load,
 * available memory). Built once a minute off the hot path.
 */
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
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
  const tempC = cpuTemperatureC();
  const loadPct = cpuLoad.sample();
  const availableBytes = memAvailableBytes();
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
    cpu: { tempC, loadPct },
    memory: { rssBytes: process.memoryUsage().rss, availableBytes, totalBytes: totalmem() },
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

/*
 * The box's figures come straight from the kernel's files (the gateway runs on Linux). The
 * systeminformation library did the same through shells (`cat`, `sensors`, `vcgencmd`: five
 * processes a minute) and cost 9 MB of resident memory once loaded, with a memory goal of 100 MB.
 */

/** The SoC/package sensor (Raspberry Pi: `cpu-thermal`), else the first readable zone; null without one. */
export function cpuTemperatureC(root = '/sys/class/thermal'): number | null {
  let zones: string[];
  try {
    zones = readdirSync(root).filter((z) => z.startsWith('thermal_zone')).sort();
  } catch {
    return null;
  }
  let fallback: number | null = null;
  for (const zone of zones) {
    try {
      const milli = Number(readFileSync(`${root}/${zone}/temp`, 'utf8').trim());
      if (!Number.isFinite(milli)) continue;
      const c = Math.round(milli / 100) / 10;
      if (/cpu|soc|x86_pkg/i.test(readFileSync(`${root}/${zone}/type`, 'utf8'))) return c;
      fallback ??= c;
    } catch {
      // a zone without a readable sensor
    }
  }
  return fallback;
}

/** CPU busy percentage since the previous sample (since boot on the first), from /proc/stat. */
export class CpuLoad {
  private last: { busy: number; total: number } | undefined;

  constructor(private readonly read: () => string = () => readFileSync('/proc/stat', 'utf8')) {}

  sample(): number | null {
    let ticks: number[];
    try {
      const line = this.read().split('\n', 1)[0] ?? '';
      if (!line.startsWith('cpu ')) return null;
      ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    } catch {
      return null;
    }
    // user nice system idle iowait irq softirq steal: idle and iowait are the idle time.
    const total = ticks.reduce((a, b) => a + b, 0);
    const busy = total - (ticks[3] ?? 0) - (ticks[4] ?? 0);
    const previous = this.last ?? { busy: 0, total: 0 };
    this.last = { busy, total };
    const dt = total - previous.total;
    return dt > 0 ? Math.round(((busy - previous.busy) / dt) * 1000) / 10 : null;
  }
}

const cpuLoad = new CpuLoad();

/** MemAvailable: what the kernel could hand out without swapping, page cache included. */
export function memAvailableBytes(meminfo = () => readFileSync('/proc/meminfo', 'utf8')): number | null {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo());
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
