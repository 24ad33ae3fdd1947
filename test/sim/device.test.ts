import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { SimDevice } from '../../src/sim/device.js';

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A bare H02 peer: ACKs the login and records how the device's bytes arrive. */
async function h02Peer(): Promise<{ port: number; chunks: string[] }> {
  const chunks: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      chunks.push(text);
      const login = /\*HQ,(\d+),V0#/.exec(text);
      if (login) socket.write(`*HQ,${login[1]},V0#`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, chunks };
}

function device(port: number, burst: number): SimDevice {
  return new SimDevice({
    family: 'h02',
    transport: 'tcp',
    host: '127.0.0.1',
    port,
    imei: '860000000000042',
    shortId: '000000000042',
    count: 7,
    intervalMs: 150,
    burst,
    alarmEvery: 0,
    heartbeatEvery: 0,
    speedKmh: 0,
    loginTimeoutMs: 2000,
    loginRetries: 1,
    keepAckedFrames: false,
  });
}

describe('simulated device bursts', () => {
  it('writes a burst of reports in one write, the last burst short', async () => {
    const peer = await h02Peer();
    const result = await device(peer.port, 3).run();
    assert.equal(result.sent, 8, 'login + 7 reports');
    const reports = peer.chunks.map((c) => (c.match(/,V1,/g) ?? []).length).filter((n) => n > 0);
    // 150 ms apart, each burst arrives as its own segment: 3 + 3 + 1. A stalled test process may
    // merge bursts, never split one (one write of ~250 bytes on loopback).
    assert.equal(reports.reduce((a, b) => a + b, 0), 7);
    assert.ok(reports.length <= 3 && (reports[0] ?? 0) >= 3, `reports per segment: ${reports.join(', ')}`);
  });

  it('writes one report per write without a burst', async () => {
    const peer = await h02Peer();
    const result = await device(peer.port, 1).run();
    assert.equal(result.sent, 8);
    const reports = peer.chunks.map((c) => (c.match(/,V1,/g) ?? []).length).filter((n) => n > 0);
    assert.equal(reports.reduce((a, b) => a + b, 0), 7);
    assert.ok(reports.length >= 4, `reports per segment: ${reports.join(', ')}`);
  });
});
