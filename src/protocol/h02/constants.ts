/** H02 / CanTrack byte-level constants (PROTOCOLS.md section 3). */
export const TEXT_START = 0x2a; // '*'
export const BINARY_START = 0x24; // '$'
/** 'X' marks 32-byte binary frames in one firmware; framed, not decoded (as Traccar does). */
export const BINARY_X_START = 0x58;
export const TEXT_END = 0x23; // '#'
export const COMMA = 0x2c;
export const CR = 0x0d;
export const LF = 0x0a;
export const SPACE = 0x20;

/**
 * Binary frame sizes seen in captures: 32 (10-digit id), 42 (8-byte id = 15-digit IMEI),
 * 45 (10-digit id, cell/odometer trailer), 48 (10-digit id, longer trailer). There is no length
 * field, so the framer decides by where the next frame starts (see framer.ts).
 */
export const BINARY_SIZES = [32, 42, 45, 48] as const;
export const BINARY_IMEI_FORM_SIZE = 42;

/** Binary layout offsets after the id (3.2). */
export const BIN_TIME = 0;
export const BIN_DATE = 3;
export const BIN_LAT = 6;
export const BIN_BATTERY = 10;
export const BIN_LON = 11;
export const BIN_SPEED_COURSE = 16;
export const BIN_STATUS = 19;
export const BIN_ID_BYTES = 5;
export const BIN_IMEI_ID_BYTES = 8;

/** Longitude flag nibble (low nibble of the 5th longitude byte). */
export const FLAG_VALID = 0x2;
export const FLAG_NORTH = 0x4;
export const FLAG_EAST = 0x8;

/**
 * Status word bits (3.3), negative logic: a 0 bit means the condition is active.
 * Only bits whose meaning all vendor tables and Traccar agree on raise alarms; bit 18 is ignored
 * on purpose (many parked units report FFFBFFFF, so it would raise false SOS).
 */
export const STATUS_BIT_VIBRATION = 0;
export const STATUS_BIT_SOS = 1;
export const STATUS_BIT_OVERSPEED = 2;
export const STATUS_BIT_ACC_OFF = 10; // 0 = ACC off, 1 = ignition on (Traccar's current mapping)
export const STATUS_BIT_POWER_CUT = 19;
export const STATUS_BIT_RELAY = 27; // 0 = oil/engine cut engaged (V4,S20,DONE carries F7FFFBFF)

/** Message types that share the V1 position layout (time, validity, lat, lon, speed, course, date, status). */
export const POSITION_TYPES = new Set(['V1', 'V2', 'V5', 'V6', 'V8', 'V19', 'VI1']);
