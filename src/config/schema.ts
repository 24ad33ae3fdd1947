/**
 * The one configuration schema: types, validation and defaults in one place (ARCHITECTURE 7).
 * Units are in the names. Every key is optional in a file; `defaultConfig()` is a working gateway.
 */
import { hostname } from 'node:os';
import { z, zod4 } from './zod.js';
import cron from 'node-cron';

/** a gateway id or tenant: one MQTT topic level and client id (the sink checks topics with it) */
export const TOPIC_ID = /^[A-Za-z0-9_-]{1,64}$/;

const port = zod4(z.number().int().min(0, 'must be 0..65535').max(65535, 'must be 0..65535'));
const positiveInt = zod4(z.number().int().positive());
const cronExpr = z.string().refine((v) => cron.validate(v), { message: 'is not a valid cron expression' });

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function defaultGatewayId(): string {
  const name = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  return name === '' ? 'tkgw' : name;
}

const listenerSchema = z
  .object({
    host: zod4(z.string().min(1)).default('0.0.0.0'),
    port: port.default(8888),
    tcp: z.boolean().default(true),
    udp: z.boolean().default(true),
  })
  .strict()
  .refine((l) => l.tcp || l.udp, { message: 'a listener needs tcp or udp (or both)' });

const limitsSchema = z
  .object({
    maxConnections: positiveInt.default(20_000),
    maxConnectionsPerIp: positiveInt.default(200),
    loginTimeoutSec: zod4(z.number().positive()).default(60),
    idleTimeoutSec: zod4(z.number().positive()).default(600),
    maxFrameBytes: zod4(z.number().int().min(64).max(1_048_576)).default(4096),
    maxBytesBeforeDetect: zod4(z.number().int().min(16).max(65_536)).default(512),
    detectTimeoutSec: zod4(z.number().positive()).default(15),
    writeBacklogBytes: zod4(z.number().int().min(1024)).default(65_536),
    udpNatWindowSec: zod4(z.number().positive()).default(30),
    maxUdpSources: positiveInt.default(20_000),
  })
  .strict();

const devicesSchema = z
  .object({
    allow: z.array(zod4(z.string().min(1))).default([]),
    deny: z.array(zod4(z.string().min(1))).default([]),
    /** a second connection claiming a logged-in identity: take over (the device rebooted) or refuse */
    duplicateLogin: zod4(z.enum(['replace', 'reject'])).default('replace'),
  })
  .strict();

const protocolsSchema = z
  .object({
    h02: z.object({ timeSyncReply: z.boolean().default(false), r12Ack: z.boolean().default(false) }).strict().default({}),
    gt06: z
      .object({
        relayDialect: zod4(z.enum(['relay', 'dyd-password', 'dyd'])).default('relay'),
        commandPassword: z.string().regex(/^[0-9]{4,8}$/, 'must be 4-8 digits').default('123456'),
      })
      .strict()
      .default({}),
  })
  .strict();

const storeSchema = z
  .object({
    dataDir: zod4(z.string().min(1)).default('./data'),
    quotaMb: zod4(z.number().positive()).default(512),
    synchronous: zod4(z.enum(['full', 'normal'])).default('full'),
    groupCommitMs: zod4(z.number().min(0).max(50)).default(5),
    groupCommitMaxRows: zod4(z.number().int().min(1).max(10_000)).default(500),
    allowTmpfs: z.boolean().default(false),
    auditRetentionDays: zod4(z.number().positive()).default(90),
  })
  .strict();

const uplinkSchema = z
  .object({
    url: z
      .string()
      .refine((u) => /^mqtts?:\/\/[^/\s]+/.test(u), { message: 'must start with mqtt:// or mqtts:// and name a host' })
      .optional(),
    username: z.string().optional(),
    passwordFile: z.string().optional(),
    caFile: z.string().optional(),
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
    protocolVersion: z.union([z.literal(5), z.literal(4)]).default(5),
    keepaliveSec: zod4(z.number().int().min(5).max(1200)).default(60),
    reconnectMinMs: zod4(z.number().int().min(100)).default(1000),
    reconnectMaxMs: zod4(z.number().int().min(1000)).default(60_000),
    topicRoot: zod4(z.string().min(1)).default('depot/v1/{tenant}/gw/{gatewayId}'),
    batchMaxRecords: zod4(z.number().int().min(1).max(10_000)).default(200),
    batchMaxBytes: zod4(z.number().int().min(1024).max(8_388_608)).default(65_536),
    batchMaxDelayMs: zod4(z.number().int().min(0).max(60_000)).default(50),
    compress: z.boolean().default(false),
    includeRaw: z.boolean().default(false),
    ackMode: zod4(z.enum(['puback', 'app'])).default('puback'),
    inflightWindow: zod4(z.number().int().min(1).max(1000)).default(16),
    publishTimeoutSec: zod4(z.number().positive()).default(20),
    /** app ack mode: PUBACKed rows without a down/ack this long are sent again */
    appAckTimeoutSec: zod4(z.number().positive()).default(60),
    backlogBytesPerSec: zod4(z.number().min(0)).default(0),
    budgetBytesPerDay: zod4(z.number().min(0)).default(0),
    budgetBytesPerMonth: zod4(z.number().min(0)).default(0),
  })
  .strict();

const guardsSchema = z
  .object({
    maxSpeedKmh: zod4(z.number().min(0)).default(10),
    requireFix: z.boolean().default(true),
    maxFixAgeSec: zod4(z.number().positive()).default(120),
  })
  .strict();

const commandsSchema = z
  .object({
    keyFile: z.string().optional(),
    maxAttempts: zod4(z.number().int().min(1).max(10)).default(3),
    ackTimeoutSec: zod4(z.number().positive()).default(60),
    confirmTimeoutSec: zod4(z.number().positive()).default(300),
    defaultExpirySec: zod4(z.number().positive()).default(600),
    maxExpirySec: zod4(z.number().positive()).default(86_400),
    defaultGuards: guardsSchema.default({}),
    maxPayloadBytes: zod4(z.number().int().min(256).max(65_536)).default(4096),
    maxPending: zod4(z.number().int().min(1)).default(1000),
  })
  .strict();

const httpSchema = z
  .object({
    host: zod4(z.string().min(1)).default('127.0.0.1'),
    port: port.default(8081),
    token: zod4(z.string().min(16, 'must be at least 16 characters')).optional(),
    tokenFile: z.string().optional(),
  })
  .strict();

const jobsSchema = z
  .object({
    healthCron: cronExpr.default('0 * * * * *'),
    checkpointCron: cronExpr.default('*/5 * * * *'),
    retentionCron: cronExpr.default('17 3 * * *'),
    vacuumCron: cronExpr.default('43 3 * * 0'),
    dailyBudgetResetCron: cronExpr.default('0 0 * * *'),
    monthlyBudgetResetCron: cronExpr.default('0 0 1 * *'),
  })
  .strict();

const logSchema = z
  .object({
    level: zod4(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default('info'),
    pretty: z.boolean().default(false),
  })
  .strict();

export const configSchema = z
  .object({
    gatewayId: z
      .string()
      .regex(TOPIC_ID, 'must be 1-64 characters of A-Z a-z 0-9 _ - (it is an MQTT topic level and client id)')
      .default(defaultGatewayId),
    tenant: z.string().regex(TOPIC_ID, 'must be 1-64 characters of A-Z a-z 0-9 _ -').default('default'),
    listeners: zod4(z.array(listenerSchema).min(1, 'needs at least one listener')).default([{ host: '0.0.0.0', port: 8888, tcp: true, udp: true }]),
    // zod 3's default goes through the schema (zod 4's prefault): {} fills in every default inside
    limits: limitsSchema.default({}),
    devices: devicesSchema.default({}),
    protocols: protocolsSchema.default({}),
    store: storeSchema.default({}),
    uplink: uplinkSchema.default({}),
    commands: commandsSchema.default({}),
    http: httpSchema.default({}),
    jobs: jobsSchema.default({}),
    log: logSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.http.port !== 0 && !LOOPBACK.test(c.http.host) && !c.http.token && !c.http.tokenFile) {
      ctx.addIssue({
        code: 'custom',
        path: ['http', 'host'],
        message: `binding the local HTTP endpoint to ${c.http.host} (not loopback) requires http.token or http.tokenFile`,
      });
    }
    if (c.uplink.reconnectMaxMs < c.uplink.reconnectMinMs) {
      ctx.addIssue({ code: 'custom', path: ['uplink', 'reconnectMaxMs'], message: 'must be >= reconnectMinMs' });
    }
    const seen = new Set<string>();
    c.listeners.forEach((l, i) => {
      const key = `${l.host}:${l.port}`;
      if (l.port !== 0 && seen.has(key)) ctx.addIssue({ code: 'custom', path: ['listeners', i], message: `duplicate listener ${key}` });
      seen.add(key);
    });
  });

export type GatewayConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export function defaultConfig(): GatewayConfig {
  return configSchema.parse({});
}
