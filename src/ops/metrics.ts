/**
 * Prometheus metrics (prom-client). Values are read from the live counters at scrape time, so the
 * hot paths only bump plain numbers and never touch prom-client.
 */
import client from 'prom-client';
import type { IngestCounters } from '../ingest/connection.js';
import type { StoreStats } from '../store/types.js';
import type { TransportCounters } from '../transport/types.js';

export interface UplinkMetrics {
  connected: boolean;
  session: number;
  published: number;
  acked: number;
  reconnects: number;
  inflight: number;
}

export interface MetricsSource {
  connections(): { tcp: number; udp: number };
  transports(): Array<{ kind: 'tcp' | 'udp'; counters: TransportCounters }>;
  ingest(): IngestCounters;
  store(): StoreStats | undefined;
  uplink(): UplinkMetrics | undefined;
  commandStates(): Record<string, number>;
  devices(): { known: number; online: number };
  /** the ingest governor's flood mode (src/ops/heap-growth.ts); undefined before the gateway starts */
  floodMode(): { on: boolean; switches: number } | undefined;
}

export function createMetricsRegistry(source: MetricsSource): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tkgw_process_' });

  const gauge = (name: string, help: string, labelNames: string[], collect: (g: client.Gauge) => void) =>
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        collect(this);
      },
    });

  /** counters are cumulative values read from the live counters; reset+inc keeps prom-client's type */
  const counter = (name: string, help: string, labelNames: string[], collect: (add: (labels: Record<string, string>, v: number) => void) => void) =>
    new client.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        collect((labels, v) => {
          if (v > 0) this.inc(labels, v);
        });
      },
    });

  gauge('tkgw_connections', 'live tracker connections (UDP: remembered sources)', ['transport'], (g) => {
    const c = source.connections();
    g.set({ transport: 'tcp' }, c.tcp);
    g.set({ transport: 'udp' }, c.udp);
  });
  counter('tkgw_transport_accepted_total', 'connections accepted (UDP: sources seen)', ['transport'], (add) => {
    for (const t of source.transports()) add({ transport: t.kind }, t.counters.accepted);
  });
  counter('tkgw_transport_rejected_total', 'connections refused by a limit', ['transport', 'reason'], (add) => {
    for (const t of source.transports()) for (const [reason, n] of Object.entries(t.counters.rejected)) add({ transport: t.kind, reason }, n);
  });
  counter('tkgw_transport_closed_total', 'connections closed, by reason', ['transport', 'reason'], (add) => {
    for (const t of source.transports()) for (const [reason, n] of Object.entries(t.counters.closed)) add({ transport: t.kind, reason }, n);
  });
  counter('tkgw_transport_bytes_total', 'bytes received and sent on tracker ports', ['transport', 'direction'], (add) => {
    for (const t of source.transports()) {
      add({ transport: t.kind, direction: 'in' }, t.counters.bytesIn);
      add({ transport: t.kind, direction: 'out' }, t.counters.bytesOut);
    }
  });
  counter('tkgw_frames_total', 'frames received, by protocol family', ['protocol'], (add) => {
    for (const [protocol, n] of Object.entries(source.ingest().frames)) add({ protocol }, n);
  });
  counter('tkgw_decode_errors_total', 'frames that could not be decoded', ['protocol'], (add) => {
    for (const [protocol, n] of Object.entries(source.ingest().decodeErrors)) add({ protocol }, n);
  });
  counter('tkgw_undetected_total', 'connections or datagrams that were not a tracker protocol', ['kind'], (add) => {
    for (const [kind, n] of Object.entries(source.ingest().undetected)) add({ kind }, n);
  });
  counter('tkgw_records_in_total', 'tracker records committed to the store', [], (add) => add({}, source.ingest().records));
  counter('tkgw_acks_total', 'protocol ACKs written to trackers', [], (add) => add({}, source.ingest().acks));
  counter('tkgw_ingest_dropped_total', 'messages not stored, by reason', ['reason'], (add) => {
    const c = source.ingest();
    add({ reason: 'unattributed' }, c.unattributed);
    add({ reason: 'denied' }, c.denied);
    add({ reason: 'store_rejected' }, c.storeRejected);
  });
  counter('tkgw_crc_mismatches_total', 'GT06 frames accepted despite a CRC mismatch', [], (add) => add({}, source.ingest().crcMismatches));
  counter('tkgw_junk_bytes_total', 'bytes discarded by framers', [], (add) => add({}, source.ingest().junkBytes));
  gauge('tkgw_ack_latency_ms', 'ACK latency from frame receipt to write (recent window)', ['quantile'], (g) => {
    const ring = source.ingest().ackLatency;
    for (const q of [50, 90, 99]) {
      const v = ring.percentile(q);
      if (v !== undefined) g.set({ quantile: String(q / 100) }, v);
    }
  });
  gauge('tkgw_backlog_rows', 'records waiting in the outbox', ['lane'], (g) => {
    const s = source.store();
    if (!s) return;
    g.set({ lane: 'evt' }, s.backlog.evtRows);
    g.set({ lane: 'pos' }, s.backlog.posRows);
  });
  gauge('tkgw_backlog_bytes', 'outbox bytes counted against the quota', [], (g) => {
    const s = source.store();
    if (s) g.set(s.backlog.bytes);
  });
  gauge('tkgw_backlog_oldest_age_seconds', 'age of the oldest record in the outbox', [], (g) => {
    const s = source.store();
    if (s) g.set(s.backlog.oldestAgeSec);
  });
  counter('tkgw_evicted_total', 'records evicted by the disk quota', [], (add) => add({}, source.store()?.evictedRows ?? 0));
  gauge('tkgw_db_bytes', 'database file size including WAL', [], (g) => {
    const s = source.store();
    if (s) g.set(s.dbBytes);
  });
  counter('tkgw_wal_checkpoints_total', 'WAL checkpoints since start (between_commits: copied on the event loop with the fsyncs on the thread pool; worker: on a worker thread, under floods; remainder: what was written during either, copied with its fsyncs on the event loop; event_loop: all of it there, the background ones fell behind)', ['on'], (add) => {
    const s = source.store();
    if (!s) return;
    add({ on: 'between_commits' }, s.checkpoints.betweenCommits);
    add({ on: 'worker' }, s.checkpoints.worker);
    add({ on: 'remainder' }, s.checkpoints.remainder);
    add({ on: 'event_loop' }, s.checkpoints.eventLoop);
  });
  gauge('tkgw_last_seq', 'highest sequence number issued', [], (g) => {
    const s = source.store();
    if (s) g.set(s.lastSeq);
  });
  gauge('tkgw_uplink_connected', '1 when the MQTT uplink is connected', [], (g) => g.set(source.uplink()?.connected ? 1 : 0));
  gauge('tkgw_uplink_session', 'uplink session counter', [], (g) => g.set(source.uplink()?.session ?? 0));
  counter('tkgw_uplink_records_total', 'records published / acknowledged by the broker', ['stage'], (add) => {
    const u = source.uplink();
    if (!u) return;
    add({ stage: 'published' }, u.published);
    add({ stage: 'acked' }, u.acked);
  });
  counter('tkgw_uplink_reconnects_total', 'uplink reconnects', [], (add) => add({}, source.uplink()?.reconnects ?? 0));
  gauge('tkgw_uplink_inflight', 'batches awaiting PUBACK', [], (g) => g.set(source.uplink()?.inflight ?? 0));
  gauge('tkgw_commands', 'commands by lifecycle state', ['state'], (g) => {
    for (const [state, n] of Object.entries(source.commandStates())) g.set({ state }, n);
  });
  gauge('tkgw_devices', 'devices known / online', ['state'], (g) => {
    const d = source.devices();
    g.set({ state: 'known' }, d.known);
    g.set({ state: 'online' }, d.online);
  });
  gauge('tkgw_flood_mode', "1 while ingest floods: checkpoints on the worker thread and, under tkgw start, V8's own heap growth and its optimizing compiler (0: a depot's pace)", [], (g) => {
    const f = source.floodMode();
    if (f) g.set(f.on ? 1 : 0);
  });
  counter('tkgw_flood_mode_switches_total', 'times flood mode started or ended', [], (add) => {
    const f = source.floodMode();
    if (f) add({}, f.switches);
  });
  return registry;
}
