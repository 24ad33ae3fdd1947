/**
 * Uplink options (the config layer maps `uplink.*` onto these names) and their defaults.
 */
import { DEFAULT_TOPIC_ROOT } from './topics.js';

export interface UplinkOptions {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  gatewayId: string;
  tenant: string;
  /** `{tenant}` and `{gatewayId}` are substituted */
  topicRoot?: string;
  username?: string | undefined;
  password?: string | undefined;
  /** read at each connect, so a rotated secret is picked up without a restart */
  passwordFile?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  rejectUnauthorized?: boolean;
  /** 5, falling back to 4 (3.1.1) for the rest of the process when the broker refuses 5 */
  protocolVersion?: 5 | 4;
  keepaliveSec?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  batchMaxRecords?: number;
  batchMaxBytes?: number;
  /** a young live batch waits this long for company before it goes */
  batchMaxDelayMs?: number;
  /** gzip batches: topic suffix `/z`, and MQTT 5 user property `ce=gzip` */
  compress?: boolean;
  /** add the tracker's frame as `raw` hex to each record */
  includeRaw?: boolean;
  ackMode?: 'puback' | 'app';
  /** batches awaiting PUBACK; capped by the broker's Receive Maximum */
  inflightWindow?: number;
  /** a PUBACK later than this means a hung broker: the connection is dropped and rebuilt */
  publishTimeoutSec?: number;
  /**
   * ackMode app: rows PUBACKed this long ago and still not covered by `down/ack` are sent again
   * (the broker or the cloud consumer lost them, e.g. a broker restart without persistence)
   */
  appAckTimeoutSec?: number;
  /** history drain rate, bytes/s of record payload; 0 = unlimited */
  backlogBytesPerSec?: number;
  /** history stops for the day/month once this many bytes went out; 0 = no budget */
  budgetBytesPerDay?: number;
  budgetBytesPerMonth?: number;
  /** gateway version string for `up/status` */
  version?: string;
  /** body of the retained `up/info` */
  info?: Record<string, unknown>;
  /** configuration problems found at load time: log them, stay disconnected, keep buffering */
  disabledReason?: string | undefined;
}

type Defaulted =
  | 'topicRoot'
  | 'rejectUnauthorized'
  | 'protocolVersion'
  | 'keepaliveSec'
  | 'reconnectMinMs'
  | 'reconnectMaxMs'
  | 'batchMaxRecords'
  | 'batchMaxBytes'
  | 'batchMaxDelayMs'
  | 'compress'
  | 'includeRaw'
  | 'ackMode'
  | 'inflightWindow'
  | 'publishTimeoutSec'
  | 'appAckTimeoutSec'
  | 'backlogBytesPerSec'
  | 'budgetBytesPerDay'
  | 'budgetBytesPerMonth'
  | 'version'
  | 'info';

export type ResolvedUplinkOptions = UplinkOptions & Required<Pick<UplinkOptions, Defaulted>>;

export const UPLINK_DEFAULTS: Required<Pick<UplinkOptions, Defaulted>> = {
  topicRoot: DEFAULT_TOPIC_ROOT,
  rejectUnauthorized: true,
  protocolVersion: 5,
  // Cellular carriers drop idle NAT mappings after a few minutes; 60 s keeps the mapping alive.
  keepaliveSec: 60,
  reconnectMinMs: 1000,
  reconnectMaxMs: 60_000,
  batchMaxRecords: 200,
  batchMaxBytes: 65_536,
  batchMaxDelayMs: 50,
  compress: false,
  includeRaw: false,
  ackMode: 'puback',
  inflightWindow: 16,
  publishTimeoutSec: 20,
  appAckTimeoutSec: 60,
  backlogBytesPerSec: 0,
  budgetBytesPerDay: 0,
  budgetBytesPerMonth: 0,
  version: '0.0.0',
  info: {},
};

/** Fills unset (or explicitly undefined) options with `UPLINK_DEFAULTS`. */
export function resolveUplinkOptions(options: UplinkOptions): ResolvedUplinkOptions {
  const out: Record<string, unknown> = { ...UPLINK_DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
  return out as unknown as ResolvedUplinkOptions;
}
