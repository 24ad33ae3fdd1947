/**
 * The `up/health` payload: the gateway's own figures plus the box's (memory from
 * systeminformation, CPU load from the kernel's CPU times, CPU temperature from the kernel's
 * thermal zones). Built once a minute off the hot path.
 */
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { cpus, type CpuInfo } from 'node:os';
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

/**
 * Busy share of all cores since the previous reading (the first reading: since boot), from the
 * kernel's CPU times as Node reports them. Not systeminformation's currentLoad(): on Linux every
 * call runs `cat /proc/stat | grep cpu` through execSync, a shell forked from the gateway's event
 * loop at each health tick (the live bench's CPU profile showed it as one of the event loop's
 * stalls; forking a 100 MB process costs more on a Pi).
 */
export class CpuLoadMeter {
  private last = { busy: 0, total: 0 };

  constructor(private readonly readCpus: () => ReadonlyArray<Pick<CpuInfo, 'times'>> = cpus) {}

  percent(): number | null {
    let busy = 0;
    let total = 0;
    for (const { times: t } of this.readCpus()) {
      busy += t.user + t.nice + t.sys + t.irq;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    const elapsed = total - this.last.total;
    const worked = busy - this.last.busy;
    this.last = { busy, total };
    return elapsed > 0 ? Math.round((Math.max(0, worked) / elapsed) * 1000) / 10 : null;
  }
}

export async function collectHealth(src: HealthSources, flash: FlashWriteMeter, load: CpuLoadMeter): Promise<Record<string, unknown>> {
  const stats = src.store();
  const ingest = src.ingest();
  const tempC = cpuTemperatureC();
  const mem = await boxMemory();
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
    cpu: { tempC, loadPct: load.percent() },
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

/**
 * Memory through systeminformation, loaded at the first health tick. Only the part of it the job
 * uses is imported: the whole library (every subsystem's module) cost 11 MB of resident memory
 * once loaded.
 */
async function boxMemory(): Promise<{ available: number; total: number } | undefined> {
  const memory = await import('systeminformation/lib/memory.js');
  return memory.mem().catch(() => undefined);
}

/*
 * The temperature is read from the kernel's thermal zones, not with systeminformation's
 * cpuTemperature(): on Linux that runs a shell through execSync, which blocks the event loop (and
 * every ACK) for the shell's lifetime, and spawns up to two more shells (`sensors`).
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
