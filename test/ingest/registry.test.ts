/**
 * The device registry's memory-saving representations must not change what it reports: the track
 * the status page draws, and the last position the store keeps across restarts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceRegistry, TRACK_POINTS, TRACK_SPACING_SEC, trackOf, type DevicePersistence, type LastFix } from '../../src/ingest/registry.js';
import type { NormalizedRecord } from '../../src/ingest/record.js';
import type { DecodedMessage, ProtocolSession } from '../../src/protocol/types.js';
import { openStore } from '../../src/store/store.js';
import type { Connection } from '../../src/transport/types.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((c) => c()));

const conn = (remote = '10.0.0.1:5000'): Connection => ({
  id: 't1',
  transport: 'tcp',
  remote,
  remoteAddress: '10.0.0.1',
  lastSeenMs: 0,
  closed: false,
  write: () => true,
  close: () => undefined,
});
const session = {} as ProtocolSession;
const message = {} as DecodedMessage;

function position(deviceId: string, lat: number, lon: number, extra: Partial<NormalizedRecord> = {}): NormalizedRecord {
  return { v: 1, deviceId, protocol: 'h02', type: 'position', msgType: 'V1', receivedAt: new Date(0).toISOString(), valid: true, lat, lon, speedKmh: 12.5, alarms: [], ...extra };
}

// 6-decimal coordinates as the contract rounds them, including both signs and the extremes.
const COORDS: Array<[number, number]> = [
  [52.370216, 4.895168],
  [-33.868820, 151.209290],
  [-89.999999, -179.999999],
  [90, 180],
  [0.000001, -0.000001],
  [37.7749, -122.419416],
];

describe('DeviceRegistry track', () => {
  it('returns coordinates exactly and times in whole seconds, oldest first', () => {
    const r = new DeviceRegistry();
    r.bind('d1', 'h02', conn(), session, 1000);
    const t0 = Date.UTC(2025, 5, 1, 12, 0, 0);
    const step = TRACK_SPACING_SEC * 1000;
    COORDS.forEach(([lat, lon], i) => r.noteRecord('d1', position('d1', lat, lon), message, t0 + i * step + 999));
    const device = r.get('d1');
    assert.ok(device);
    assert.deepEqual(
      trackOf(device, 200),
      COORDS.map(([lat, lon], i) => ({ lat, lon, t: t0 + i * step })),
    );
    assert.deepEqual(trackOf(device, 2).map((p) => p.lat), [COORDS[4]?.[0], COORDS[5]?.[0]]);
  });

  it('keeps the last TRACK_POINTS points per device, devices apart', () => {
    const r = new DeviceRegistry();
    const t0 = Date.UTC(2025, 0, 1);
    // More devices than one slab chunk holds, so neighbours in a chunk and across chunks are both covered.
    const devices = 600;
    for (let d = 0; d < devices; d++) r.bind(`d${d}`, 'h02', conn(), session, t0);
    const step = TRACK_SPACING_SEC * 1000;
    for (let i = 0; i < TRACK_POINTS + 7; i++) {
      for (let d = 0; d < devices; d++) r.noteRecord(`d${d}`, position(`d${d}`, d / 1000, i / 1000), message, t0 + i * step);
    }
    for (const d of [0, 1, 255, 256, 599]) {
      const device = r.get(`d${d}`);
      assert.ok(device);
      const track = trackOf(device, 200);
      assert.equal(track.length, TRACK_POINTS);
      assert.deepEqual(track[0], { lat: d / 1000, lon: 7 / 1000, t: t0 + 7 * step });
      assert.deepEqual(track.at(-1), { lat: d / 1000, lon: (TRACK_POINTS + 6) / 1000, t: t0 + (TRACK_POINTS + 6) * step });
    }
  });

  it('keeps places left at least TRACK_SPACING_SEC apart, and always the current one', () => {
    const r = new DeviceRegistry();
    const t0 = Date.UTC(2025, 0, 1);
    r.bind('d1', 'h02', conn(), session, t0);
    // a report every 10 s, moving each time: the ring keeps every third place left
    for (let i = 0; i < 10; i++) r.noteRecord('d1', position('d1', 52 + i / 1000, 4), message, t0 + i * 10_000);
    const device = r.get('d1');
    assert.ok(device);
    assert.deepEqual(
      trackOf(device, 200).map((p) => [p.lat, (p.t - t0) / 1000]),
      [
        [52, 0],
        [52.003, 30],
        [52.006, 60],
        [52.009, 90],
      ],
    );
  });

  it('keeps a parked device as one point with its latest time, in no ring slot; the place left keeps the time it was left', () => {
    const r = new DeviceRegistry();
    r.bind('d1', 'h02', conn(), session, 1000);
    const t0 = Date.UTC(2025, 5, 1, 8, 0, 0);
    for (let i = 0; i < 120; i++) r.noteRecord('d1', position('d1', 52.370216, 4.895168), message, t0 + i * 10_000);
    const device = r.get('d1');
    assert.ok(device);
    assert.deepEqual(trackOf(device, 200), [{ lat: 52.370216, lon: 4.895168, t: t0 + 119 * 10_000 }]);
    assert.equal(device.track, undefined, 'a device that never moved holds no ring slot');
    r.noteRecord('d1', position('d1', 52.371, 4.896), message, t0 + 1_200_000);
    r.noteRecord('d1', position('d1', 52.371, 4.896), message, t0 + 1_210_000);
    assert.deepEqual(trackOf(device, 200), [
      { lat: 52.370216, lon: 4.895168, t: t0 + 119 * 10_000 },
      { lat: 52.371, lon: 4.896, t: t0 + 1_210_000 },
    ]);
    assert.deepEqual(trackOf(device, 1), [{ lat: 52.371, lon: 4.896, t: t0 + 1_210_000 }]);
    assert.deepEqual(trackOf(device, 0), []);
  });

  it('is empty before the first position', () => {
    const r = new DeviceRegistry();
    r.bind('d1', 'h02', conn(), session, 1000);
    r.noteRecord('d1', { ...position('d1', 1, 2), lat: undefined, lon: undefined }, message, 2000);
    const device = r.get('d1');
    assert.ok(device);
    assert.deepEqual(trackOf(device, 200), []);
  });
});

describe('DeviceRegistry flush', () => {
  it('persists the last position once, keeps it in the store across later flushes and restarts', async () => {
    const t = tempDir('tkgw-registry-');
    dirs.push(t.cleanup);
    const open = () => openStore({ dataDir: t.dir, quotaBytes: 10 * 1024 * 1024, synchronous: 'normal', groupCommitMs: 2, groupCommitMaxRows: 500, allowTmpfs: true }).store;
    let store = open();
    const r = new DeviceRegistry();
    const c = conn();
    r.bind('d1', 'h02', c, session, 1000);
    r.noteRecord('d1', position('d1', 52.370216, 4.895168), message, 2000);
    assert.equal(r.flushTo(store), 1);
    assert.equal(r.get('d1')?.fixUnflushed, false, 'a flushed fix is not written again');
    // A later change without a new position must not erase the stored one.
    r.unbind('d1', c, 'peer_closed');
    assert.equal(r.flushTo(store), 1);
    const stored = store.getDevice('d1');
    assert.equal(stored?.online, false);
    assert.equal((JSON.parse(stored?.lastPosition ?? 'null') as LastFix | null)?.lat, 52.370216);
    await store.close();

    // After a restart the seeded device flushes again (it reconnects); the position survives.
    store = open();
    const again = new DeviceRegistry();
    for (const row of store.listDevices()) again.seed({ ...row, protocol: 'h02' });
    again.bind('d1', 'h02', conn(), session, 3000);
    assert.equal(again.flushTo(store), 1);
    assert.equal((JSON.parse(store.getDevice('d1')?.lastPosition ?? 'null') as LastFix | null)?.lon, 4.895168);
    await store.close();
  });

  it('stores the newest fix of each device, from one LastFix the device keeps, not the record', () => {
    const r = new DeviceRegistry();
    r.bind('d1', 'h02', conn(), session, 1000);
    r.noteRecord('d1', position('d1', 1.5, 2.5, { fixTime: '2026-12-01T10:00:00Z', course: 90 }), message, 2000);
    const first = r.get('d1')?.lastFix;
    r.noteRecord('d1', position('d1', 1.75, 2.75, { fixTime: '2026-12-01T10:00:10Z', speedKmh: 0, valid: false }), message, 12_000);
    assert.equal(r.get('d1')?.lastFix, first, 'updated in place');
    const written: Array<string | null | undefined> = [];
    r.flushTo({
      upsertDevices: (rows) => {
        for (const row of rows) written.push(row.lastPosition);
      },
    });
    assert.deepEqual(JSON.parse(written[0] ?? 'null'), {
      valid: false,
      fixTime: '2026-12-01T10:00:10Z',
      lat: 1.75,
      lon: 2.75,
      speedKmh: 0,
      receivedAt: new Date(12_000).toISOString(),
    });
  });

  it('a failed write leaves the devices dirty with their position, for the next flush', () => {
    const r = new DeviceRegistry();
    r.bind('d1', 'h02', conn(), session, 1000);
    r.noteRecord('d1', position('d1', 1.5, 2.5), message, 2000);
    const failing: DevicePersistence = {
      upsertDevices() {
        throw new Error('disk full');
      },
    };
    assert.throws(() => r.flushTo(failing), /disk full/);
    const written: Array<string | null | undefined> = [];
    assert.equal(
      r.flushTo({
        upsertDevices: (rows) => {
          for (const row of rows) written.push(row.lastPosition);
        },
      }),
      1,
    );
    assert.equal((JSON.parse(written[0] ?? 'null') as LastFix | null)?.lat, 1.5);
  });
});
