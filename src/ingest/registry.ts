/**
 * Live device registry: which tracker is reachable through which connection and session, and what
 * the gateway last heard from it (fix, speed, ignition, relay). The commands layer reads it for its
 * guards and sends through it; ops reads it for status.
 */
import type { DecodedMessage, ProtocolFamily, ProtocolSession } from '../protocol/types.js';
import type { Connection } from '../transport/types.js';
import type { DeviceUpsert } from '../store/types.js';
import type { NormalizedRecord } from './record.js';

/**
 * One per device, updated in place by every position: a new object per report lived for a whole
 * report interval, so each one reached V8's old generation and died there, and with 10,000
 * trackers that garbage set how far the old generation grew between collections.
 */
export interface LastFix {
  valid: boolean;
  fixTime: string | undefined;
  lat: number;
  lon: number;
  speedKmh: number | undefined;
  course: number | undefined;
  receivedAtMs: number;
}

export interface LiveDevice {
  readonly deviceId: string;
  protocol: ProtocolFamily;
  conn: Connection | undefined;
  session: ProtocolSession | undefined;
  transport: 'tcp' | 'udp';
  remote: string | null;
  online: boolean;
  firstSeenMs: number;
  lastSeenMs: number;
  lastFix: LastFix | undefined;
  ignition: boolean | undefined;
  relay: 'cut' | 'normal' | undefined;
  alarms: readonly string[] | undefined;
  batteryLevel: number | undefined;
  gsmLevel: number | undefined;
  /**
   * lastFix changed since the last flush, which writes it as the stored last position (a flush
   * without a new fix leaves the stored one as it is). The record itself is not kept: held until
   * the flush, 10,000 of them were 14 MB of resident memory (measured at 10,000 trackers).
   */
  fixUnflushed: boolean;
  /**
   * the positions the device left, for the status page: a ring in a chunk shared with other
   * devices (see TrackSlab), from `trackAt`; undefined until the device first moves
   */
  track: Int32Array | undefined;
  trackAt: number;
  trackNext: number;
  trackCount: number;
  dirty: boolean;
}

export interface RegistryListener {
  /** a device bound a connection (login, or first identified frame) */
  online?(device: LiveDevice): void;
  offline?(device: LiveDevice, reason: string): void;
  /** every record committed for a device (after the store accepted it) */
  record?(device: LiveDevice, record: NormalizedRecord, message: DecodedMessage): void;
}

export interface DevicePersistence {
  /** rows are produced one at a time as the store writes them, so a flush holds no row list */
  upsertDevices(rows: Iterable<DeviceUpsert>): void;
}

export class DeviceRegistry {
  private readonly devices = new Map<string, LiveDevice>();
  private readonly listeners: RegistryListener[] = [];
  private readonly tracks = new TrackSlab();

  get size(): number {
    return this.devices.size;
  }

  get onlineCount(): number {
    let n = 0;
    for (const d of this.devices.values()) if (d.online) n++;
    return n;
  }

  subscribe(listener: RegistryListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get(deviceId: string): LiveDevice | undefined {
    return this.devices.get(deviceId);
  }

  list(): LiveDevice[] {
    return [...this.devices.values()];
  }

  /** Seeds a device known from the store (offline until it connects). */
  seed(row: { deviceId: string; protocol: ProtocolFamily; transport: 'tcp' | 'udp'; remote: string | null; firstSeenMs: number; lastSeenMs: number; lastPosition: string | null }): void {
    if (this.devices.has(row.deviceId)) return;
    const device = newDevice(row.deviceId, row.protocol, row.firstSeenMs, row.lastSeenMs);
    device.transport = row.transport;
    device.remote = row.remote;
    // row.lastPosition stays in the store only: flushes never overwrite it with nothing.
    device.dirty = false;
    this.devices.set(row.deviceId, device);
  }

  /**
   * Binds a device to a connection. Returns the connection it held before, if any, so the caller
   * applies the duplicate-login policy.
   */
  bind(deviceId: string, protocol: ProtocolFamily, conn: Connection, session: ProtocolSession, nowMs: number): Connection | undefined {
    let device = this.devices.get(deviceId);
    if (!device) {
      device = newDevice(deviceId, protocol, nowMs, nowMs);
      this.devices.set(deviceId, device);
    }
    const previous = device.conn && device.conn !== conn && !device.conn.closed ? device.conn : undefined;
    device.protocol = protocol;
    device.conn = conn;
    device.session = session;
    device.transport = conn.transport;
    device.remote = conn.remote;
    device.lastSeenMs = nowMs;
    device.dirty = true;
    if (!device.online) {
      device.online = true;
      for (const l of this.listeners) l.online?.(device);
    }
    return previous;
  }

  /** The connection closed; the device goes offline unless another connection took it over. */
  unbind(deviceId: string, conn: Connection, reason: string): void {
    const device = this.devices.get(deviceId);
    if (!device || device.conn !== conn) return;
    device.conn = undefined;
    device.session = undefined;
    device.dirty = true;
    if (device.online) {
      device.online = false;
      for (const l of this.listeners) l.offline?.(device, reason);
    }
  }

  /** Updates the live state from a committed record and tells the listeners. */
  noteRecord(deviceId: string, record: NormalizedRecord, message: DecodedMessage, receivedAtMs: number): void {
    const device = this.devices.get(deviceId);
    if (!device) return;
    device.lastSeenMs = receivedAtMs;
    if (record.lat !== undefined && record.lon !== undefined) {
      // Before lastFix moves on: the track keeps the position being left (see TrackSlab).
      this.tracks.push(device, record.lat, record.lon);
      const valid = record.valid ?? false;
      const fix = device.lastFix;
      if (fix) {
        fix.valid = valid;
        fix.fixTime = record.fixTime;
        fix.lat = record.lat;
        fix.lon = record.lon;
        fix.speedKmh = record.speedKmh;
        fix.course = record.course;
        fix.receivedAtMs = receivedAtMs;
      } else {
        device.lastFix = { valid, fixTime: record.fixTime, lat: record.lat, lon: record.lon, speedKmh: record.speedKmh, course: record.course, receivedAtMs };
      }
      device.fixUnflushed = true;
    }
    if (record.ignition !== undefined) device.ignition = record.ignition;
    if (record.relay !== undefined) device.relay = record.relay;
    if (record.batteryLevel !== undefined) device.batteryLevel = record.batteryLevel;
    if (record.gsmLevel !== undefined) device.gsmLevel = record.gsmLevel;
    device.alarms = record.alarms;
    device.dirty = true;
    for (const l of this.listeners) l.record?.(device, record, message);
  }

  /**
   * Writes changed devices to the store in one transaction; called on a timer and at shutdown,
   * not per record (one fsync per flush, whatever the number of devices).
   */
  flushTo(store: DevicePersistence): number {
    const flushed: LiveDevice[] = [];
    for (const d of this.devices.values()) if (d.dirty) flushed.push(d);
    if (flushed.length === 0) return 0;
    // One transaction: if it throws nothing was written, and the devices stay dirty for the next.
    store.upsertDevices(upsertRows(flushed));
    for (const d of flushed) {
      d.dirty = false;
      d.fixUnflushed = false;
    }
    return flushed.length;
  }
}

/** points kept per device for the status page's track, its current position included */
export const TRACK_POINTS = 25;
/**
 * A place left within this long of the newest point kept is not kept: at a 10 s report interval
 * the track was 50 points over 8 minutes, and 25 points at least 30 s apart draw 12 minutes of a
 * route at the status page's scale. Each point is 12 bytes in every moving device's ring, so the
 * rings of 10,000 moving trackers went from 5.9 to 2.9 MB.
 */
export const TRACK_SPACING_SEC = 30;
/** the ring holds the positions before the current one, which is the device's lastFix */
const RING_POINTS = TRACK_POINTS - 1;
const RING_INTS = RING_POINTS * 3;
/** devices per slab chunk: 256 x 288 bytes, one allocation instead of 256 typed arrays */
const SLAB_DEVICES = 256;
/** track times are whole seconds from here: an Int32 covers 1952..2088 */
const TRACK_EPOCH_SEC = 1_577_836_800; // 2020-01-01T00:00:00Z

const micro = (deg: number) => Math.round(deg * 1e6);

/**
 * Every device's recent positions, packed: (lat x 1e6, lon x 1e6, seconds since TRACK_EPOCH_SEC)
 * as Int32 in chunks shared by SLAB_DEVICES devices. The contract's coordinates have 6 decimals,
 * so lat/lon come back exactly; times lose their milliseconds, which a track drawn over minutes
 * does not need. One Float64Array per device cost 1.2 KB plus some 400 bytes of array and
 * backing-store bookkeeping; at 10,000 trackers that alone was a sixth of the memory goal.
 *
 * The newest point is the device's lastFix, so the ring only keeps the positions it left, each
 * with the last time the device reported it: a parked vehicle's reports are one point whose time
 * moves on, not a ring of copies. A device that has not moved since the gateway started (most
 * of a depot's, most of the time) takes no ring slot at all. Slots are never freed because
 * devices never leave the registry.
 */
class TrackSlab {
  private chunk: Int32Array | undefined;
  private used = SLAB_DEVICES;

  /** Called with the new position before `device.lastFix` is updated to it. */
  push(device: LiveDevice, lat: number, lon: number): void {
    const left = device.lastFix;
    if (!left || (micro(left.lat) === micro(lat) && micro(left.lon) === micro(lon))) return;
    if (!device.track) {
      if (this.used === SLAB_DEVICES) {
        this.chunk = new Int32Array(SLAB_DEVICES * RING_INTS);
        this.used = 0;
      }
      device.track = this.chunk;
      device.trackAt = this.used++ * RING_INTS;
    }
    const track = device.track as Int32Array;
    if (device.trackCount > 0) {
      const newest = device.trackAt + ((device.trackNext + RING_POINTS - 1) % RING_POINTS) * 3;
      if (trackSeconds(left.receivedAtMs) - (track[newest + 2] as number) < TRACK_SPACING_SEC) return;
    }
    const at = device.trackAt + device.trackNext * 3;
    track[at] = micro(left.lat);
    track[at + 1] = micro(left.lon);
    track[at + 2] = trackSeconds(left.receivedAtMs);
    device.trackNext = (device.trackNext + 1) % RING_POINTS;
    device.trackCount = Math.min(RING_POINTS, device.trackCount + 1);
  }
}

function trackSeconds(ms: number): number {
  return Math.floor(ms / 1000) - TRACK_EPOCH_SEC;
}

/** Oldest first, the current position last; times in ms (whole seconds). */
export function trackOf(device: LiveDevice, limit: number): Array<{ lat: number; lon: number; t: number }> {
  const out: Array<{ lat: number; lon: number; t: number }> = [];
  const current = device.lastFix;
  if (!current || limit <= 0) return out;
  const track = device.track;
  const older = track ? Math.min(limit - 1, device.trackCount) : 0;
  for (let i = device.trackCount - older; i < device.trackCount; i++) {
    const at = device.trackAt + ((device.trackNext - device.trackCount + i + RING_POINTS) % RING_POINTS) * 3;
    const ring = track as Int32Array;
    out.push({
      lat: (ring[at] as number) / 1e6,
      lon: (ring[at + 1] as number) / 1e6,
      t: ((ring[at + 2] as number) + TRACK_EPOCH_SEC) * 1000,
    });
  }
  out.push({ lat: micro(current.lat) / 1e6, lon: micro(current.lon) / 1e6, t: (trackSeconds(current.receivedAtMs) + TRACK_EPOCH_SEC) * 1000 });
  return out;
}

function newDevice(deviceId: string, protocol: ProtocolFamily, firstSeenMs: number, lastSeenMs: number): LiveDevice {
  return {
    deviceId,
    protocol,
    conn: undefined,
    session: undefined,
    transport: 'tcp',
    remote: null,
    online: false,
    firstSeenMs,
    lastSeenMs,
    lastFix: undefined,
    ignition: undefined,
    relay: undefined,
    alarms: undefined,
    batteryLevel: undefined,
    gsmLevel: undefined,
    fixUnflushed: false,
    track: undefined,
    trackAt: 0,
    trackNext: 0,
    trackCount: 0,
    dirty: true,
  };
}

function* upsertRows(devices: readonly LiveDevice[]): Generator<DeviceUpsert> {
  for (const d of devices) {
    yield {
      deviceId: d.deviceId,
      protocol: d.protocol,
      transport: d.transport,
      remote: d.remote,
      seenMs: d.lastSeenMs,
      online: d.online,
      lastPosition: d.fixUnflushed && d.lastFix ? storedPosition(d.lastFix) : null,
    };
  }
}

/** The stored last position (devices.last_position): the fix, not the whole record. */
function storedPosition(fix: LastFix): string {
  return JSON.stringify({
    valid: fix.valid,
    fixTime: fix.fixTime,
    lat: fix.lat,
    lon: fix.lon,
    speedKmh: fix.speedKmh,
    course: fix.course,
    receivedAt: new Date(fix.receivedAtMs).toISOString(),
  });
}
