/** GT06 (Concox and clones) constants (PROTOCOLS.md section 4). All multi-byte fields big-endian. */
export const START_SHORT = 0x78; // `78 78`: 1-byte length
export const START_LONG = 0x79; // `79 79`: 2-byte length
export const STOP = Buffer.from([0x0d, 0x0a]);
/** start(2) + length(1) + proto(1) + serial(2) + crc(2) + stop(2) */
export const MIN_SHORT_FRAME = 10;

export const PROTO = {
  LOGIN: 0x01,
  GPS: 0x10,
  GPS_LBS_11: 0x11,
  GPS_LBS: 0x12,
  STATUS: 0x13,
  STRING_REPLY: 0x15,
  ALARM: 0x16,
  LBS_ALARM: 0x19,
  STRING_REPLY_NEW: 0x21,
  GPS_LBS_22: 0x22,
  HEARTBEAT_23: 0x23,
  ALARM_26: 0x26,
  ALARM_27: 0x27,
  COMMAND: 0x80,
  TIME_REQUEST: 0x8a,
  INFO: 0x94,
} as const;

/** Messages the device expects an ACK for (4.3); Traccar also ACKs positions and replies. */
export const ACKED = new Set<number>([
  PROTO.LOGIN,
  PROTO.GPS,
  PROTO.GPS_LBS_11,
  PROTO.GPS_LBS,
  PROTO.STATUS,
  PROTO.STRING_REPLY,
  PROTO.ALARM,
  0x18,
  PROTO.LBS_ALARM,
  PROTO.STRING_REPLY_NEW,
  PROTO.GPS_LBS_22,
  PROTO.HEARTBEAT_23,
  PROTO.ALARM_26,
  PROTO.ALARM_27,
]);

export const GPS_BLOCK_BYTES = 18;
export const LBS_BYTES = 8;
/** terminal info, voltage level, GSM level, alarm, language */
export const STATUS_TRAILER_BYTES = 5;

/** course/status word bits (4.2) */
export const COURSE_MASK = 0x03ff;
export const BIT_NORTH = 1 << 10;
export const BIT_WEST = 1 << 11;
export const BIT_VALID = 1 << 12;
export const BIT_ACC_PRESENT = 1 << 14;
export const BIT_ACC_ON = 1 << 15;

/** terminal information byte (0x13, 0x16, 0x26) */
export const TI_ACC_ON = 0x02;
export const TI_RELAY_CUT = 0x80; // "oil and electricity disconnected"

/** Degrees = raw / 1,800,000 (units of 1/30000 minute). */
export const COORD_DIVISOR = 1_800_000;
