/**
 * The ingest service: the transport's connection handler. Owns the device registry's link to the
 * store (device online/offline events) and the counters ops exposes.
 */
import type { ProtocolFamily, ProtocolModule, SessionOptions } from '../protocol/types.js';
import type { Connection, ConnectionHandler, ConnectionSink } from '../transport/types.js';
import {
  newIngestCounters,
  TrackerConnection,
  type ConnectionContext,
  type DevicePolicy,
  type IngestCounters,
  type IngestLimits,
  type IngestLogger,
  type IngestStore,
} from './connection.js';
import { eventRow } from './record.js';
import type { DeviceRegistry } from './registry.js';

export interface IngestOptions {
  limits: IngestLimits;
  devices: DevicePolicy;
  sessionOptions: SessionOptions;
}

export interface IngestDeps {
  modules: Readonly<Record<ProtocolFamily, ProtocolModule>>;
  store: IngestStore;
  registry: DeviceRegistry;
  log: IngestLogger;
  now: () => number;
}

export class IngestService implements ConnectionHandler {
  readonly counters: IngestCounters = newIngestCounters();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly options: IngestOptions,
    private readonly deps: IngestDeps,
  ) {}

  start(): void {
    const { registry, store, now, log } = this.deps;
    this.unsubscribe = registry.subscribe({
      online: (device) => {
        const ts = now();
        store.enqueueThen(
          eventRow(
            { v: 1, type: 'device_online', deviceId: device.deviceId, receivedAt: new Date(ts).toISOString(), protocol: device.protocol, transport: device.transport, remote: device.remote },
            ts,
          ),
          (err) => {
            if (err) log.warn({ deviceId: device.deviceId, err: String(err) }, 'device_online event not stored');
          },
          'gateway',
        );
      },
      offline: (device, reason) => {
        const ts = now();
        store.enqueueThen(eventRow({ v: 1, type: 'device_offline', deviceId: device.deviceId, receivedAt: new Date(ts).toISOString(), reason }, ts), (err) => {
          if (err) log.warn({ deviceId: device.deviceId, err: String(err) }, 'device_offline event not stored');
        }, 'gateway');
      },
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** One context shared by every connection (10,000 copies of it were 1 MB, of the stream options 0.5 MB). */
  private context: ConnectionContext | undefined;

  open(conn: Connection): ConnectionSink {
    this.context ??= {
      limits: this.options.limits,
      streamOptions: {
        modules: this.deps.modules,
        maxFrameBytes: this.options.limits.maxFrameBytes,
        maxBytesBeforeDetect: this.options.limits.maxBytesBeforeDetect,
        sessionOptions: this.options.sessionOptions,
      },
      devices: this.options.devices,
      store: this.deps.store,
      registry: this.deps.registry,
      counters: this.counters,
      log: this.deps.log,
      now: this.deps.now,
    };
    return new TrackerConnection(conn, this.context);
  }
}
