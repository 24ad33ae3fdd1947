/**
 * Shared vocabulary of the protocol layer. Everything here is pure data: framers, codecs and
 * sessions take bytes and a receive time and return these shapes; they never touch sockets,
 * storage, loggers or the clock.
 */
import type { DecodeError } from './errors.js';

export const PROTOCOL_FAMILIES = ['h02', 'gt06', 'tk103', 'gps103'] as const;
export type ProtocolFamily = (typeof PROTOCOL_FAMILIES)[number];

/** Record types of the normalized record (CONTRACT section 2). */
export type RecordType =
  | 'login'
  | 'position'
  | 'heartbeat'
  | 'alarm'
  | 'status'
  | 'lbs'
  | 'command_reply'
  | 'other';

/** camelCase alarm vocabulary of the normalized record. */
export type AlarmName =
  | 'sos'
  | 'powerCut'
  | 'lowBattery'
  | 'vibration'
  | 'overspeed'
  | 'geofenceEnter'
  | 'geofenceExit'
  | 'geofence'
  | 'movement'
  | 'tampering'
  | 'accident'
  | 'door'
  | 'gpsAntennaCut'
  | 'powerOff'
  | 'removing'
  | 'lowspeed'
  | 'hardAcceleration'
  | 'hardBraking'
  | 'hardCornering'
  | 'fallDown'
  | 'temperature'
  | 'fuelLeak'
  | 'general'
  | (string & {});

export interface CellInfo {
  mcc: number;
  mnc: number;
  lac: number;
  cid: number;
}

/** What a device said in reply to a server command; used to correlate the command lifecycle. */
export interface CommandReplyInfo {
  /** GT06 0x15/0x21: the 4-byte server flag echoed from our 0x80 command */
  serverFlag?: number;
  /** H02 V4: the command code echoed (`S20`) */
  command?: string;
  /** H02 V4: the echo fields between the code and our HHMMSS, e.g. `DONE`, `ERROR`, `1,1` */
  echoFields?: string[];
  /** H02 V4: our HHMMSS echoed back */
  commandTime?: string;
  /** device's free text (GT06 `DYD=Success!`, H02 SMS text, TK103 ZC03 `$...$`) */
  text?: string;
  /** best reading of the outcome from the text/echo */
  result?: 'success' | 'failure' | 'unknown';
}

/**
 * One decoded tracker message. Field absent = not reported by the device (never a guessed
 * default). Units are already normalized: km/h, UTC ISO-8601, decimal degrees.
 */
export interface DecodedMessage {
  protocol: ProtocolFamily;
  /** protocol's own message token: `V1`, `HTBT`, `0x12`, `BR00`, `tracker` ... */
  msgType: string;
  type: RecordType;
  /** id carried by the frame itself (15-digit IMEI when available); sessions fill it in for GT06 */
  deviceId?: string;
  /**
   * True when the message carries telemetry a tracking platform would store as a position or
   * status record (mirrors Traccar emitting a Position); false for bare logins, keep-alives that
   * carry nothing and unparseable-but-framed reports.
   */
  emitsRecord: boolean;
  fixTime?: string;
  valid?: boolean;
  lat?: number;
  lon?: number;
  speedKmh?: number;
  course?: number;
  altitude?: number;
  satellites?: number;
  ignition?: boolean;
  relay?: 'cut' | 'normal';
  alarms: AlarmName[];
  batteryLevel?: number;
  voltageLevel?: number;
  gsmLevel?: number;
  cell?: CellInfo;
  /** device's text reply (command_reply) */
  reply?: string;
  commandReply?: CommandReplyInfo;
  /** H02: the 32-bit status word as 8 upper-case hex digits, kept so a mapping fix can be replayed */
  statusHex?: string;
  /** GT06: the frame's serial number */
  serial?: number;
  /** GT06: whether the CRC matched (mismatches are counted, not fatal) */
  crcValid?: boolean;
  /** GT06: the length field disagreed with the framed size */
  lengthFieldMismatch?: boolean;
  /** H02: `text` or `binary` */
  format?: 'text' | 'binary';
  /** other values worth keeping (odometer, power volts, iccid, GPS103 keyword, ...) */
  attributes?: Record<string, string | number | boolean>;
}

/** Framer output: a complete frame, or bytes it had to discard (with why). */
export type FramerOutput =
  | { kind: 'frame'; frame: Buffer }
  | { kind: 'junk'; bytes: Buffer; reason: string };

export interface FramerLimits {
  /** a frame (or garbage run without a frame start) larger than this is discarded */
  maxFrameBytes: number;
}

/**
 * Turns a TCP byte stream into frames. Holds at most `maxFrameBytes` of pending input; beyond
 * that it discards (reported as junk) and resynchronises on the next start marker.
 */
export interface Framer {
  push(chunk: Buffer): FramerOutput[];
  /** End of input (connection closed, or one UDP datagram done): flush what is left. */
  end(): FramerOutput[];
  readonly pendingBytes: number;
}

export type RelayAction = 'engine_stop' | 'engine_resume';

/** How a device's reply is matched to the command we sent. */
export type CommandCorrelation =
  | { kind: 'gt06-flag'; serverFlag: number }
  | { kind: 'h02-echo'; command: string; time: string }
  | { kind: 'none' };

export interface EncodedCommand {
  bytes: Buffer;
  correlation: CommandCorrelation;
  /** false when the family defines no reply to this command (confirmation only from status) */
  expectsReply: boolean;
}

export interface RelayCommandContext {
  /** server clock, used for H02's HHMMSS field */
  now: Date;
  /** unique per command on this connection; GT06 uses it as the 4-byte server flag */
  commandRef: number;
}

/** A decoded message and the bytes the gateway must send back for it (if any). */
export interface SessionMessage {
  message: DecodedMessage;
  ack?: Buffer;
}

export interface SessionResult {
  messages: SessionMessage[];
  /** set when the frame could not be decoded; nothing is acknowledged then */
  error?: DecodeError;
}

/**
 * Per-connection (TCP) or per-source (UDP) protocol state: identity, login, ACKs and command
 * encoding. Pure: the receive time is passed in.
 */
export interface ProtocolSession {
  readonly family: ProtocolFamily;
  /** identity bound to this connection by its first identifying message */
  readonly deviceId: string | undefined;
  /** never throws for bad input: a DecodeError is returned in `error` */
  handleFrame(frame: Buffer, receivedAt: Date): SessionResult;
  /** throws (plain Error) when the family cannot encode this action for this device */
  encodeRelay(action: RelayAction, ctx: RelayCommandContext): EncodedCommand;
}

export interface SessionOptions {
  /** H02: also send the optional `V4,V1,<time>` reply to V1 reports (Traccar does) */
  h02TimeSyncReply?: boolean;
  /** H02: send the optional `R12` ack to binary/other reports (Sinotrack ST-901L needs it) */
  h02R12Ack?: boolean;
  /** GT06: relay command dialect: Concox `Relay,1#` (default), `DYD,<pwd>#`, or G109 `DYD#` */
  gt06RelayDialect?: 'relay' | 'dyd-password' | 'dyd';
  /** GT06 `DYD,<pwd>#` password */
  gt06CommandPassword?: string;
}

export interface ProtocolModule {
  readonly family: ProtocolFamily;
  createFramer(limits: FramerLimits): Framer;
  createSession(options?: SessionOptions): ProtocolSession;
}
