/**
 * A wall-clock jump under the real gateway process: libfaketime (Debian's `faketime`) moves the
 * gateway's clock two hours ahead mid-run and back. Ingest must go on; engine-cut commands must be
 * refused as `clock_untrusted` while the clock disagrees with the trackers' GNSS time.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startSimulation } from '../../src/sim/simulator.js';
import { freePort, startBroker } from '../helpers/broker.js';
import { jobRuns, spawnGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

function faketimeLib(): string | undefined {
  for (const dir of ['/usr/lib/x86_64-linux-gnu/faketime', '/usr/lib/aarch64-linux-gnu/faketime', '/usr/lib/faketime']) {
    const lib = join(dir, 'libfaketimeMT.so.1');
    if (existsSync(lib)) return lib;
  }
  try {
    for (const d of readdirSync('/usr/lib')) {
      const lib = join('/usr/lib', d, 'faketime', 'libfaketimeMT.so.1');
      if (existsSync(lib)) return lib;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

const LIB = faketimeLib();
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('wall-clock jump', { skip: LIB ? false : 'libfaketime is not installed (apt-get install faketime)' }, () => {
  it('keeps ingesting and refuses engine cuts while the gateway clock is off, accepts them again after', async () => {
    const t = tempDir('tkgw-clockjump-');
    cleanups.push(t.cleanup);
    const broker = await startBroker();
    cleanups.push(() => broker.stop());
    const offsetFile = join(t.dir, 'faketime');
    writeFileSync(offsetFile, '+0\n');
    const port = await freePort();
    const httpPort = await freePort();
    const gatewayId = `clock-${process.pid}`;
    const gw = await spawnGateway(
      ['--host', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--data-dir', join(t.dir, 'data'), '--mqtt-url', broker.url, '--gateway-id', gatewayId],
      { LD_PRELOAD: LIB, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    );
    cleanups.push(() => gw.child.kill('SIGKILL'));
    const sim = startSimulation({ host: '127.0.0.1', port, protocol: 'h02', devices: 1, count: 1000, intervalMs: 100, udp: false, alarmEvery: 0, heartbeatEvery: 0, idOffset: 424_242 });
    cleanups.push(async () => {
      sim.stop();
      await sim.done;
    });
    const device = sim.devices[0]?.id as string;
    const root = `depot/v1/default/gw/${gatewayId}`;
    const op = await mqtt.connectAsync(broker.url);
    cleanups.push(() => op.endAsync());
    const results: Array<{ id: string; state: string; reason?: string }> = [];
    op.on('message', (_t, p) => results.push(JSON.parse(p.toString()) as { id: string; state: string; reason?: string }));
    await op.subscribeAsync(`${root}/up/cmd/res`, { qos: 1 });
    const status = async () => ((await (await fetch(`http://127.0.0.1:${httpPort}/status`)).json()) as { records: { total: number } }).records.total;
    const send = (id: string, action: string) =>
      op.publishAsync(`${root}/down/cmd/req`, JSON.stringify({ v: 1, id, deviceId: device, action, expiresAt: new Date(Date.now() + 3 * 3600_000).toISOString() }), { qos: 1 });
    const stateOf = (id: string) => results.filter((r) => r.id === id).map((r) => `${r.state}${r.reason ? ':' + r.reason : ''}`);

    await waitFor(async () => (await status()) > 5, 'records flowing', 15_000);
    await send('before-jump', 'engine_stop');
    await waitFor(() => stateOf('before-jump').includes('sent'), 'a command goes out while the clocks agree', 15_000);

    writeFileSync(offsetFile, '+2h\n');
    const atJump = await status();
    await waitFor(async () => (await status()) > atJump + 10, 'ingest goes on after the jump', 15_000);
    await send('during-jump', 'engine_resume');
    await waitFor(() => stateOf('during-jump').some((s) => s.startsWith('rejected:clock_untrusted')), `refused while the clock is off (${stateOf('during-jump').join(',')})`, 15_000);

    writeFileSync(offsetFile, '+0\n');
    await new Promise((r) => setTimeout(r, 1500));
    await send('after-jump', 'engine_resume');
    await waitFor(() => stateOf('after-jump').includes('sent'), `accepted again once the clock agrees (${stateOf('after-jump').join(',')})`, 15_000);
    assert.ok(!stateOf('during-jump').includes('sent'));
  });

  it('keeps its scheduled jobs running after the clock steps back', async () => {
    const t = tempDir('tkgw-clockback-');
    cleanups.push(t.cleanup);
    const offsetFile = join(t.dir, 'faketime');
    writeFileSync(offsetFile, '+2h\n');
    const config = join(t.dir, 'c.yaml');
    writeFileSync(config, "store:\n  allowTmpfs: true\njobs:\n  healthCron: '* * * * * *'\n");
    const gw = await spawnGateway(
      ['-c', config, '--host', '127.0.0.1', '--port', String(await freePort()), '--http-port', '0', '--data-dir', join(t.dir, 'data')],
      { LD_PRELOAD: LIB, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1', TKGW_LOG_LEVEL: 'debug' },
    );
    cleanups.push(() => gw.child.kill('SIGKILL'));
    const healthRuns = () => jobRuns(gw.logs(), 'health');
    await waitFor(() => healthRuns() >= 2, 'the every-second health job to run', 15_000);
    // NTP puts the clock back two hours: the schedules start over from the new time.
    writeFileSync(offsetFile, '+0\n');
    await waitFor(() => gw.logs().includes('wall clock moved back'), 'the scheduler to see the step back', 10_000);
    const atStep = healthRuns();
    await waitFor(() => healthRuns() >= atStep + 2, 'the health job to run again after the step back', 10_000);
    gw.child.kill('SIGTERM');
    assert.equal(await new Promise((r) => gw.child.once('exit', r)), 0);
  });
});
