/**
 * The depot status page: what a technician in the yard needs at a glance, served by the local
 * HTTP endpoint, working offline (no CDN, fonts or tiles; one small HTML document).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PAGE_HTML } from './html.js';

export interface PageDevice {
  deviceId: string;
  protocol: string;
  transport: 'tcp' | 'udp';
  online: boolean;
  lastSeenMs: number;
  lastFix?: { valid: boolean; fixTime?: string | undefined; lat?: number | undefined; lon?: number | undefined; speedKmh?: number | undefined; receivedAtMs: number } | undefined;
  ignition?: boolean | undefined;
  relay?: 'cut' | 'normal' | undefined;
  alarms?: readonly string[] | undefined;
  batteryLevel?: number | undefined;
  gsmLevel?: number | undefined;
}

export interface StatusPageSource {
  devices(): PageDevice[];
  track(deviceId: string, limit: number): Array<{ lat: number; lon: number; t: number }>;
  uplink(): { configured: boolean; connected: boolean; session: number; lastAckAt: string | null; lastError: string | null };
  backlog(): { rows: number; bytes: number; oldestAgeSec: number; lastSeq: number };
  commands(limit: number): Array<{ id: string; deviceId: string; action: string; state: string; reason: string | null; updatedMs: number }>;
  health(): { cpuTempC: number | null; diskFreeBytes: number | null; memoryRssBytes: number; bytesWrittenToday: number | null; uptimeSec: number };
  now(): number;
}

/** Backlog samples for the drain chart: one per 10 s, one hour kept (a bounded ring). */
export class DrainHistory {
  private readonly samples: Array<{ t: number; rows: number; lastSeq: number }> = [];
  constructor(private readonly capacity = 360) {}
  add(t: number, rows: number, lastSeq: number): void {
    this.samples.push({ t, rows, lastSeq });
    if (this.samples.length > this.capacity) this.samples.shift();
  }
  /** records leaving the outbox per second between samples: (rows before + new seqs - rows after) / dt */
  rates(): Array<{ t: number; backlog: number; drainPerSec: number }> {
    const out: Array<{ t: number; backlog: number; drainPerSec: number }> = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1] as { t: number; rows: number; lastSeq: number };
      const b = this.samples[i] as { t: number; rows: number; lastSeq: number };
      const dt = (b.t - a.t) / 1000;
      const left = a.rows + (b.lastSeq - a.lastSeq) - b.rows;
      out.push({ t: b.t, backlog: b.rows, drainPerSec: dt > 0 ? Math.max(0, Math.round(left / dt)) : 0 });
    }
    return out;
  }
}

/** A device is "silent" when it has not been heard from for this long, even if connected. */
export const SILENT_AFTER_SEC = 15 * 60;

export function pageSnapshot(source: StatusPageSource, drain: DrainHistory): Record<string, unknown> {
  const now = source.now();
  const devices = source.devices().map((d) => ({
    id: d.deviceId,
    protocol: d.protocol,
    transport: d.transport,
    online: d.online,
    lastSeenAgoSec: Math.round((now - d.lastSeenMs) / 1000),
    silent: !d.online || now - d.lastSeenMs > SILENT_AFTER_SEC * 1000,
    fix: d.lastFix
      ? { valid: d.lastFix.valid, lat: d.lastFix.lat, lon: d.lastFix.lon, speedKmh: d.lastFix.speedKmh, ageSec: Math.round((now - d.lastFix.receivedAtMs) / 1000) }
      : null,
    ignition: d.ignition ?? null,
    relay: d.relay ?? null,
    alarms: d.alarms ?? [],
    batteryLevel: d.batteryLevel ?? null,
    gsmLevel: d.gsmLevel ?? null,
  }));
  return {
    now: new Date(now).toISOString(),
    devices,
    uplink: source.uplink(),
    backlog: source.backlog(),
    drain: drain.rates().slice(-60),
    commands: source.commands(20),
    health: source.health(),
  };
}

export function createStatusPage(source: StatusPageSource, drain: DrainHistory): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  return (_req, res, url) => {
    switch (url.pathname) {
      case '/':
      case '/index.html':
        send(res, 200, 'text/html; charset=utf-8', PAGE_HTML, "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:");
        return true;
      case '/api/page':
        send(res, 200, 'application/json', JSON.stringify(pageSnapshot(source, drain)));
        return true;
      case '/api/track': {
        const id = url.searchParams.get('device') ?? '';
        send(res, 200, 'application/json', JSON.stringify({ device: id, points: source.track(id, 200) }));
        return true;
      }
      default:
        return false;
    }
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, csp?: string): void {
  const headers: Record<string, string | number> = { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' };
  if (csp) headers['content-security-policy'] = csp;
  res.writeHead(status, headers);
  res.end(body);
}
