/**
 * A wall-clock jump: the gateway's clock disagrees with fresh GNSS time (a Pi without RTC that
 * booted with a stale clock, or an NTP step). Expiry cannot be judged then, so commands are
 * refused or held, never sent.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandService } from '../../src/commands/service.js';
import { DeviceRegistry } from '../../src/ingest/registry.js';
import type { NormalizedRecord } from '../../src/ingest/record.js';
import type { DecodedMessage, ProtocolSession } from '../../src/protocol/types.js';
import { openStore } from '../../src/store/store.js';
import type { Connection } from '../../src/transport/types.js';
import { silentLog } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

const t = tempDir('tkgw-clock-');
after(t.cleanup);

describe('commands under a wall-clock jump', () => {
  it('rejects as clock_untrusted while gateway time and GNSS time disagree, accepts once they agree', async () => {
    const { store } = openStore({ dataDir: t.dir, quotaBytes: 1e9, synchronous: 'normal', groupCommitMs: 1, groupCommitMaxRows: 100, allowTmpfs: true });
    let now = Date.parse('2026-06-01T12:00:00Z');
    const registry = new DeviceRegistry();
    const written: Buffer[] = [];
    const conn = { id: 't1', transport: 'tcp', remote: '127.0.0.1:1', remoteAddress: '127.0.0.1', closed: false, lastSeenMs: now, write: (b: Buffer) => (written.push(b), true), close: () => undefined } as Connection;
    const session = { family: 'h02', deviceId: 'dev1', handleFrame: () => ({ messages: [] }), encodeRelay: () => ({ bytes: Buffer.from('S20'), correlation: { kind: 'none' }, expectsReply: false }) } as unknown as ProtocolSession;
    registry.bind('dev1', 'h02', conn, session, now);
    const service = new CommandService(
      { maxAttempts: 3, ackTimeoutSec: 60, confirmTimeoutSec: 300, maxExpirySec: 86400, defaultGuards: { maxSpeedKmh: 10, requireFix: true, maxFixAgeSec: 120 }, maxPayloadBytes: 4096, maxPending: 100, udpNatWindowSec: 30, tickMs: 3_600_000 },
      { store, devices: registry, log: silentLog, now: () => now },
    );
    service.start();
    const report = (fixTime: string): void => {
      const record: NormalizedRecord = { v: 1, deviceId: 'dev1', protocol: 'h02', type: 'position', msgType: 'V1', receivedAt: new Date(now).toISOString(), fixTime, valid: true, lat: 52, lon: 4, speedKmh: 0, alarms: [] };
      registry.noteRecord('dev1', record, { protocol: 'h02', msgType: 'V1', type: 'position', emitsRecord: true, alarms: [] } as DecodedMessage, now);
    };
    const request = (id: string) => Buffer.from(JSON.stringify({ v: 1, id, deviceId: 'dev1', action: 'engine_stop', expiresAt: new Date(now + 600_000).toISOString() }));

    // The gateway clock jumped an hour ahead of what the trackers' GNSS says.
    report(new Date(now - 3600_000).toISOString());
    const refused = service.submit(request('c-jump'));
    assert.equal(refused.state, 'rejected');
    assert.match(refused.reason ?? '', /^clock_untrusted/);
    assert.equal(written.length, 0, 'nothing sent');

    // NTP fixed it: fresh GNSS time agrees again.
    report(new Date(now - 2000).toISOString());
    const ok = service.submit(request('c-ok'));
    assert.equal(ok.state, 'accepted');
    assert.equal(store.getCommand('c-ok')?.state, 'sent');
    assert.equal(written.length, 1);

    // A clock before 2025 (a Pi without RTC after a power cut) is never trusted.
    now = Date.parse('1970-01-01T00:10:00Z');
    assert.match(service.submit(request('c-1970')).reason ?? '', /^clock_untrusted/);
    service.stop();
    await store.close();
  });
});
