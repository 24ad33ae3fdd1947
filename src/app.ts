/**
 * Composition root: constructs every layer, starts them in order (store, uplink, commands,
 * listeners, http, jobs) and stops them in reverse. No logic of its own beyond wiring.
 */
import type { Logger } from 'pino';
import { CommandService } from './commands/service.js';
import { readSecretFile } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { IngestService } from './ingest/ingest.js';
import { DeviceRegistry, trackOf } from './ingest/registry.js';
import { collectHealth, CpuLoadMeter, FlashWriteMeter } from './ops/health.js';
import { DEFAULT_FLOOD_RECORDS_PER_SEC, HeapGrowthGovernor } from './ops/heap-growth.js';
import { JobScheduler } from './ops/jobs.js';
import { OpsHttpServer, type HealthReport } from './ops/http.js';
import { createStatusPage, DrainHistory } from './ops/page/index.js';
import { statfsSync } from 'node:fs';
import type { StatusSnapshot } from './ops/status.js';
import { PROTOCOL_MODULES } from './protocol/families.js';
import type { ProtocolFamily } from './protocol/types.js';
import { openStore, type Store } from './store/store.js';
import { OPEN_COMMAND_STATES } from './store/types.js';
import { TcpListener } from './transport/tcp.js';
import { UdpListener } from './transport/udp.js';
import type { Uplink } from './uplink/uplink.js';
import { GATEWAY_VERSION } from './version.js';


export interface AppDeps {
  log: Logger;
  now?: () => number;
  /** uplink configuration problems found by the config loader: the uplink stays off, ingest runs */
  uplinkProblems?: string[];
  /** systemd notifications; no-ops when not under systemd */
  notify?: { ready(): void; stopping(): void; watchdog(): void; status(text: string): void; watchdogIntervalMs: number | null };
  /** V8's settings by ingest rate (src/ops/heap-growth.ts); `tkgw start` passes v8-memory's; absent: left alone */
  heapGrowth?: { apply(flood: boolean): void; floodRecordsPerSec?: number };
}

export interface ListeningAddress {
  transport: 'tcp' | 'udp' | 'http';
  host: string;
  port: number;
}

export class GatewayApp {
  readonly registry = new DeviceRegistry();
  readonly tcp: TcpListener[] = [];
  readonly udp: UdpListener[] = [];
  readonly addresses: ListeningAddress[] = [];
  private storeInstance: Store | undefined;
  private ingestService: IngestService | undefined;
  private uplinkInstance: Uplink | undefined;
  private http: OpsHttpServer | undefined;
  private commandService: CommandService | undefined;
  private jobs: JobScheduler | undefined;
  private readonly flash = new FlashWriteMeter();
  private readonly cpuLoad = new CpuLoadMeter();
  private readonly drain = new DrainHistory();
  private floodGovernor: HeapGrowthGovernor | undefined;
  private metrics: ReturnType<GatewayApp['metricsRegistry']> | undefined;
  private lastCpuTempC: number | null = null;
  private startedAtMs = 0;
  private stopping: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private started = false;

  constructor(
    readonly config: GatewayConfig,
    private readonly deps: AppDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  get store(): Store {
    if (!this.storeInstance) throw new Error('store not open');
    return this.storeInstance;
  }

  get ingest(): IngestService {
    if (!this.ingestService) throw new Error('gateway not started');
    return this.ingestService;
  }

  get uplink(): Uplink | undefined {
    return this.uplinkInstance;
  }

  get commands(): CommandService {
    if (!this.commandService) throw new Error('gateway not started');
    return this.commandService;
  }

  async start(): Promise<void> {
    const { config } = this;
    const log = this.deps.log;
    this.startedAtMs = this.now();

    // 1. Store: nothing is acknowledged to a tracker before it can be committed.
    const opened = openStore({
      dataDir: config.store.dataDir,
      quotaBytes: config.store.quotaMb * 1024 * 1024,
      synchronous: config.store.synchronous,
      groupCommitMs: config.store.groupCommitMs,
      groupCommitMaxRows: config.store.groupCommitMaxRows,
      // Every tracker connection and UDP source may raise an online and an offline event at once
      // (StoreOptions.gatewayEventRoom says why they get room of their own).
      gatewayEventRoom: 2 * config.listeners.length * (config.limits.maxConnections + config.limits.maxUdpSources),
      allowTmpfs: config.store.allowTmpfs,
      now: this.now,
      log: log.child({ layer: 'store' }),
    });
    this.storeInstance = opened.store;
    if (opened.reset) log.error({ quarantinedTo: opened.reset.quarantinedTo, reason: opened.reset.reason }, 'database was corrupt: quarantined and started fresh');
    const store = opened.store;
    for (const row of store.listDevices()) {
      this.registry.seed({ ...row, protocol: row.protocol as ProtocolFamily });
    }
    // Whatever the last run believed, nothing is connected now.
    store.markAllDevicesOffline(this.now());

    // 2. Uplink (optional): buffer-only without a broker URL.
    if (config.uplink.url) {
      const u = config.uplink;
      // mqtt.js is the largest library here (~15 MB resident): loaded only with an uplink.
      const { Uplink: UplinkClient } = await import('./uplink/uplink.js');
      this.uplinkInstance = new UplinkClient(
        {
          url: config.uplink.url,
          gatewayId: config.gatewayId,
          tenant: config.tenant,
          topicRoot: u.topicRoot,
          username: u.username,
          passwordFile: u.passwordFile,
          caFile: u.caFile,
          certFile: u.certFile,
          keyFile: u.keyFile,
          rejectUnauthorized: u.rejectUnauthorized,
          protocolVersion: u.protocolVersion,
          keepaliveSec: u.keepaliveSec,
          reconnectMinMs: u.reconnectMinMs,
          reconnectMaxMs: u.reconnectMaxMs,
          batchMaxRecords: u.batchMaxRecords,
          batchMaxBytes: u.batchMaxBytes,
          batchMaxDelayMs: u.batchMaxDelayMs,
          compress: u.compress,
          includeRaw: u.includeRaw,
          ackMode: u.ackMode,
          inflightWindow: u.inflightWindow,
          publishTimeoutSec: u.publishTimeoutSec,
          appAckTimeoutSec: u.appAckTimeoutSec,
          backlogBytesPerSec: u.backlogBytesPerSec,
          budgetBytesPerDay: u.budgetBytesPerDay,
          budgetBytesPerMonth: u.budgetBytesPerMonth,
          version: GATEWAY_VERSION,
          info: { version: GATEWAY_VERSION, gatewayId: config.gatewayId, devicesKnown: this.registry.size, listeners: config.listeners },
          disabledReason: this.deps.uplinkProblems && this.deps.uplinkProblems.length > 0 ? this.deps.uplinkProblems.join('; ') : undefined,
        },
        { outbox: store, log: log.child({ layer: 'uplink' }), now: this.now },
      );
      this.uplinkInstance.start();
    } else {
      log.warn('no uplink configured (--mqtt-url / TKGW_MQTT_URL): buffering records locally only');
    }

    // Commands: intake from MQTT (and `tkgw command`), guards, lifecycle.
    const c = config.commands;
    this.commandService = new CommandService(
      {
        key: c.keyFile ? Buffer.from(readSecretFile(c.keyFile)) : undefined,
        maxAttempts: c.maxAttempts,
        ackTimeoutSec: c.ackTimeoutSec,
        confirmTimeoutSec: c.confirmTimeoutSec,
        maxExpirySec: c.maxExpirySec,
        defaultGuards: c.defaultGuards,
        maxPayloadBytes: c.maxPayloadBytes,
        maxPending: c.maxPending,
        udpNatWindowSec: config.limits.udpNatWindowSec,
      },
      {
        store,
        devices: this.registry,
        log: log.child({ layer: 'commands' }),
        now: this.now,
        respond: (route, result) => this.uplinkInstance?.publishResponse(route, result),
      },
    );
    this.commandService.start();
    this.uplinkInstance?.onCommandRequest((payload, meta) => this.commandService?.submit(payload, meta));

    // 3. Ingest and listeners.
    this.ingestService = new IngestService(
      {
        limits: config.limits,
        devices: config.devices,
        sessionOptions: {
          h02TimeSyncReply: config.protocols.h02.timeSyncReply,
          h02R12Ack: config.protocols.h02.r12Ack,
          gt06RelayDialect: config.protocols.gt06.relayDialect,
          gt06CommandPassword: config.protocols.gt06.commandPassword,
        },
      },
      { modules: PROTOCOL_MODULES, store, registry: this.registry, log: log.child({ layer: 'ingest' }), now: this.now },
    );
    this.ingestService.start();
    const transportLog = log.child({ layer: 'transport' });
    for (const l of config.listeners) {
      if (l.tcp) {
        const tcp = new TcpListener(
          {
            host: l.host,
            port: l.port,
            maxConnections: config.limits.maxConnections,
            maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
            idleTimeoutSec: config.limits.idleTimeoutSec,
            writeBacklogBytes: config.limits.writeBacklogBytes,
          },
          this.ingestService,
          transportLog,
        );
        const addr = await tcp.start();
        this.tcp.push(tcp);
        this.addresses.push({ transport: 'tcp', ...addr });
      }
      if (l.udp) {
        // UDP shares the TCP port number (PROTOCOLS.md: one port for both); with port 0 (tests)
        // it follows whatever port TCP was given.
        const port = l.port === 0 && l.tcp ? (this.addresses[this.addresses.length - 1]?.port ?? 0) : l.port;
        const udp = new UdpListener(
          {
            host: l.host,
            port,
            peerIdleSec: config.limits.idleTimeoutSec,
            maxUdpSources: config.limits.maxUdpSources,
            writeBacklogBytes: config.limits.writeBacklogBytes,
          },
          this.ingestService,
          transportLog,
        );
        const addr = await udp.start();
        this.udp.push(udp);
        this.addresses.push({ transport: 'udp', ...addr });
      }
    }
    for (const a of this.addresses) log.info(a, `listening for trackers on ${a.transport} ${a.host}:${a.port}`);

    // 4. Local HTTP endpoint.
    if (config.http.port !== 0) {
      this.http = new OpsHttpServer(
        { host: config.http.host, port: config.http.port, token: config.http.token },
        {
          health: () => this.health(),
          metrics: () => (this.metrics ??= this.metricsRegistry()),
          status: () => this.status(),
          command: (body) => this.commands.submit(body),
          extra: createStatusPage(this.pageSource(), this.drain),
        },
        log.child({ layer: 'http' }),
      );
      const addr = await this.http.start();
      this.addresses.push({ transport: 'http', ...addr });
    }

    // 5. Periodic work that is not on the hot path.
    this.every(5000, () => this.registry.flushTo(store));
    const sampleDrain = () => {
      const st = store.stats();
      this.drain.add(this.now(), st.backlog.rows, st.lastSeq);
    };
    sampleDrain();
    this.every(10_000, sampleDrain);
    // One notion of a flood for the whole gateway: where checkpoints copy, and V8's settings when
    // `tkgw start` hands them over (deps.heapGrowth).
    const heap = this.deps.heapGrowth;
    const floodLog = log.child({ layer: 'ops' });
    const governor = (this.floodGovernor = new HeapGrowthGovernor(
      (flood) => {
        store.setFloodMode(flood);
        heap?.apply(flood);
        const v8 = heap ? (flood ? ', V8 heap growth cap lifted, optimizing compiler on' : ', V8 heap growth capped, optimizing compiler off') : '';
        floodLog.info({ flood }, flood ? `ingest flood: checkpoints on the worker thread${v8}` : `ingest back under the flood rate: checkpoints between commits${v8}`);
      },
      { floodRecordsPerSec: heap?.floodRecordsPerSec ?? DEFAULT_FLOOD_RECORDS_PER_SEC },
    ));
    const sampleIngest = () => governor.sample(this.ingest.counters.records, this.now());
    sampleIngest();
    // Often, so a flood gets the optimizing compiler within ~0.5 s; the governor's 5 s window,
    // not the sampling, is what keeps waves of reports and login storms from switching it.
    this.every(250, sampleIngest);
    this.jobs = new JobScheduler(log.child({ layer: 'jobs' }));
    const j = config.jobs;
    this.jobs.add('health', j.healthCron, async () => {
      const health = await collectHealth(
        {
          store: () => store.stats(),
          dataDir: config.store.dataDir,
          ingest: () => this.ingest.counters,
          devices: () => ({ known: this.registry.size, online: this.registry.onlineCount }),
          connections: () => ({ tcp: this.tcp.reduce((n, l) => n + l.connectionCount, 0), udp: this.udp.reduce((n, l) => n + l.peerCount, 0) }),
          uplink: () => this.uplinkInstance?.state(),
          startedAtMs: this.startedAtMs,
          now: this.now,
        },
        this.flash,
        this.cpuLoad,
      );
      const cpu = health['cpu'] as { tempC?: number | null } | undefined;
      this.lastCpuTempC = cpu?.tempC ?? null;
      this.uplinkInstance?.publishHealth(health);
    });
    this.jobs.add('checkpoint', j.checkpointCron, () => store.checkpoint('PASSIVE'));
    this.jobs.add('retention', j.retentionCron, () => store.pruneAudit(this.now() - config.store.auditRetentionDays * 86_400_000));
    this.jobs.add('vacuum', j.vacuumCron, () => store.vacuum());
    this.jobs.add('daily-budget', j.dailyBudgetResetCron, () => {
      this.uplinkInstance?.resetDailyBudget();
      this.flash.resetDay();
    });
    this.jobs.add('monthly-budget', j.monthlyBudgetResetCron, () => this.uplinkInstance?.resetMonthlyBudget());
    const watchdogMs = this.deps.notify?.watchdogIntervalMs;
    if (watchdogMs) this.every(watchdogMs, () => this.deps.notify?.watchdog());

    this.started = true;
    this.deps.notify?.ready();
    this.deps.notify?.status(`serving ${this.addresses.map((a) => `${a.transport}:${a.port}`).join(' ')}`);
  }

  /**
   * Graceful shutdown (SIGTERM): stop accepting, let in-flight records commit and their ACKs go
   * out, close connections, flush the uplink, checkpoint and close the store. Idempotent: a
   * second SIGTERM, or a test's cleanup after its own stop, waits for the first.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    const log = this.deps.log;
    this.deps.notify?.stopping();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.jobs?.stop();
    for (const l of this.tcp) l.stopAccepting();
    await this.storeInstance?.flush();
    await Promise.all([...this.tcp.map((l) => l.stop()), ...this.udp.map((l) => l.stop())]);
    this.ingestService?.stop();
    this.commandService?.stop();
    await this.http?.stop();
    await this.uplinkInstance?.stop();
    if (this.storeInstance) {
      this.registry.flushTo(this.storeInstance);
      await this.storeInstance.close();
    }
    if (this.started) log.info('gateway stopped');
    this.started = false;
  }

  status(): StatusSnapshot {
    const stats = this.store.stats();
    const uplink = this.uplinkInstance?.state();
    return {
      devices: { known: this.registry.size, online: this.registry.onlineCount },
      records: { total: stats.totalRecords, lastSeq: stats.lastSeq },
      backlog: { rows: stats.backlog.rows, bytes: stats.backlog.bytes, oldestAgeSec: stats.backlog.oldestAgeSec },
      uplink: { connected: uplink?.connected ?? false, session: uplink?.session ?? Number(this.store.getMeta('uplink.session') ?? 0), lastAckAt: uplink?.lastAckAt ?? null },
      commands: { pending: this.store.listCommands({ states: OPEN_COMMAND_STATES }).length },
    };
  }

  health(): HealthReport {
    const checks: HealthReport['checks'] = {};
    try {
      this.store.setMeta('health.probe', String(this.now()));
      checks['store'] = { ok: true };
    } catch (err) {
      checks['store'] = { ok: false, detail: `store not writable: ${String(err)}` };
    }
    const listenersUp = this.tcp.length + this.udp.length > 0;
    checks['listeners'] = { ok: listenersUp, detail: this.addresses.filter((a) => a.transport !== 'http').map((a) => `${a.transport}:${a.port}`).join(' ') };
    if (this.uplinkInstance) {
      const u = this.uplinkInstance.state();
      // A depot link that is down is a degraded, not a failed, gateway: records buffer.
      checks['uplink'] = { ok: true, detail: u.connected ? 'connected' : `disconnected${u.lastError ? ': ' + u.lastError : ''}` };
    } else {
      checks['uplink'] = { ok: true, detail: 'not configured (buffer only)' };
    }
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }

  private pageSource() {
    return {
      devices: () => this.registry.list(),
      track: (id: string, limit: number) => {
        const d = this.registry.get(id);
        return d ? trackOf(d, limit) : [];
      },
      uplink: () => {
        const u = this.uplinkInstance?.state();
        return {
          configured: this.uplinkInstance !== undefined,
          connected: u?.connected ?? false,
          session: u?.session ?? 0,
          lastAckAt: u?.lastAckAt ?? null,
          lastError: u?.lastError ?? null,
        };
      },
      backlog: () => {
        const st = this.store.stats();
        return { ...st.backlog, lastSeq: st.lastSeq };
      },
      commands: (limit: number) => this.store.listCommands({ limit }),
      health: () => {
        let diskFreeBytes: number | null = null;
        try {
          const fs = statfsSync(this.config.store.dataDir);
          diskFreeBytes = fs.bavail * fs.bsize;
        } catch {
          diskFreeBytes = null;
        }
        return {
          cpuTempC: this.lastCpuTempC,
          diskFreeBytes,
          memoryRssBytes: process.memoryUsage().rss,
          bytesWrittenToday: this.flash.today() ?? null,
          uptimeSec: Math.round((this.now() - this.startedAtMs) / 1000),
        };
      },
      now: this.now,
    };
  }

  private async metricsRegistry() {
    const { createMetricsRegistry } = await import('./ops/metrics.js');
    return createMetricsRegistry({
      connections: () => ({
        tcp: this.tcp.reduce((n, l) => n + l.connectionCount, 0),
        udp: this.udp.reduce((n, l) => n + l.peerCount, 0),
      }),
      transports: () => [
        ...this.tcp.map((l) => ({ kind: 'tcp' as const, counters: l.counters })),
        ...this.udp.map((l) => ({ kind: 'udp' as const, counters: l.counters })),
      ],
      ingest: () => this.ingest.counters,
      store: () => this.storeInstance?.stats(),
      uplink: () => this.uplinkInstance?.state(),
      commandStates: () => {
        const counts: Record<string, number> = {};
        for (const c of this.store.listCommands({ limit: 1000 })) counts[c.state] = (counts[c.state] ?? 0) + 1;
        return counts;
      },
      devices: () => ({ known: this.registry.size, online: this.registry.onlineCount }),
      floodMode: () => (this.floodGovernor ? { on: !this.floodGovernor.isCapped, switches: this.floodGovernor.switchCount } : undefined),
    });
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.deps.log.warn({ err: String(err) }, 'periodic task failed');
      }
    }, ms);
    t.unref();
    this.timers.push(t);
  }
}
