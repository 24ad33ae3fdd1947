/**
 * The normalized, versioned record (CONTRACT section 2) and the events the gateway itself emits
 * (`up/evt`). Pure functions: the receive time and identity are passed in.
 */
import type { CellInfo, DecodedMessage, ProtocolFamily } from '../protocol/types.js';
import type { Lane, NewOutboxRow } from '../store/types.js';

export const RECORD_VERSION = 1;

/** what a record without alarms carries: one frozen array for all of them */
export const NO_ALARMS: readonly string[] = Object.freeze([]);

/** A tracker message as the cloud sees it, without `seq` (assigned by the store). */
export interface NormalizedRecord {
  v: 1;
  deviceId: string | null;
  protocol: ProtocolFamily;
  type: DecodedMessage['type'];
  msgType: string;
  fixTime?: string;
  receivedAt: string;
  valid?: boolean;
  lat?: number;
  lon?: number;
  speedKmh?: number;
  course?: number;
  altitude?: number;
  satellites?: number;
  ignition?: boolean;
  relay?: 'cut' | 'normal';
  /** NO_ALARMS when there are none: one array shared by every such record and the devices keeping it */
  alarms: readonly string[];
  batteryLevel?: number;
  voltageLevel?: number;
  gsmLevel?: number;
  cell?: CellInfo;
  reply?: string;
  /** H02 status word, kept so an ignition/alarm mapping fix can be replayed from history */
  status?: string;
  attributes?: Record<string, string | number | boolean>;
}

/** Events the gateway raises itself; they travel on `up/evt` with their own `type`. */
export type GatewayEventType =
  | 'device_online'
  | 'device_offline'
  | 'ignition_on'
  | 'ignition_off'
  | 'relay_changed'
  | 'command_result'
  | 'command_audit';

export interface GatewayEvent {
  v: 1;
  type: GatewayEventType;
  deviceId: string | null;
  receivedAt: string;
  [key: string]: unknown;
}

/**
 * Frames of one TCP read share their receive time, and at tens of thousands of records a second
 * so do reads within the same millisecond: formatting the same instant again cost more than the
 * rest of building the record.
 */
let isoMs = Number.NaN;
let isoText = '';
function isoOf(at: Date): string {
  const ms = at.getTime();
  if (ms !== isoMs) {
    isoText = at.toISOString();
    isoMs = ms;
  }
  return isoText;
}

export function toRecord(message: DecodedMessage, deviceId: string | null, receivedAt: Date): NormalizedRecord {
  const r: NormalizedRecord = {
    v: RECORD_VERSION,
    deviceId,
    protocol: message.protocol,
    type: message.type,
    msgType: message.msgType,
    receivedAt: isoOf(receivedAt),
    alarms: message.alarms.length === 0 ? NO_ALARMS : message.alarms,
  };
  // Absent means "not reported": copy only what the device said.
  if (message.fixTime !== undefined) r.fixTime = message.fixTime;
  if (message.valid !== undefined) r.valid = message.valid;
  if (message.lat !== undefined) r.lat = message.lat;
  if (message.lon !== undefined) r.lon = message.lon;
  if (message.speedKmh !== undefined) r.speedKmh = message.speedKmh;
  if (message.course !== undefined) r.course = message.course;
  if (message.altitude !== undefined) r.altitude = message.altitude;
  if (message.satellites !== undefined) r.satellites = message.satellites;
  if (message.ignition !== undefined) r.ignition = message.ignition;
  if (message.relay !== undefined) r.relay = message.relay;
  if (message.batteryLevel !== undefined) r.batteryLevel = message.batteryLevel;
  if (message.voltageLevel !== undefined) r.voltageLevel = message.voltageLevel;
  if (message.gsmLevel !== undefined) r.gsmLevel = message.gsmLevel;
  if (message.cell !== undefined) r.cell = message.cell;
  const reply = message.reply ?? message.commandReply?.text;
  if (reply !== undefined) r.reply = reply;
  if (message.statusHex !== undefined) r.status = message.statusHex;
  if (message.attributes !== undefined && Object.keys(message.attributes).length > 0) r.attributes = message.attributes;
  return r;
}

export interface LanePolicyInput {
  record: NormalizedRecord;
  /** alarms the device's previous record carried (an alarm bit held for hours is raised once) */
  previousAlarms: readonly string[] | undefined;
}

/**
 * Alarms and command replies go on the priority lane and are never evicted. A status word that
 * keeps an alarm bit set (a bench unit without external power reports powerCut on every fix) is
 * prioritised only when the alarm is first raised; later copies ride with the positions.
 */
export function laneFor({ record, previousAlarms }: LanePolicyInput): { lane: Lane; protected: boolean } {
  if (record.type === 'alarm' || record.type === 'command_reply') return { lane: 'evt', protected: true };
  if (record.alarms.length > 0 && record.alarms.some((a) => !previousAlarms?.includes(a))) {
    return { lane: 'evt', protected: true };
  }
  return { lane: 'pos', protected: false };
}

export function recordRow(record: NormalizedRecord, lane: Lane, isProtected: boolean, receivedAtMs: number, raw: Buffer | null): NewOutboxRow {
  return {
    deviceId: record.deviceId,
    lane,
    type: record.type,
    protected: isProtected,
    receivedAtMs,
    payload: JSON.stringify(record),
    raw,
  };
}

export function eventRow(event: GatewayEvent, receivedAtMs: number): NewOutboxRow {
  return {
    deviceId: event.deviceId,
    lane: 'evt',
    type: event.type,
    protected: true,
    receivedAtMs,
    payload: JSON.stringify(event),
    raw: null,
  };
}
