/**
 * The scheduler: failures logged and the schedule goes on, no run beside a run still going, and no
 * `Intl` anywhere in the running gateway (ICU's pages cost ~6-8 MB of resident memory; see
 * src/ops/jobs.ts).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../helpers/broker.js';
import { jobRuns, spawnGateway } from '../helpers/gateway.js';
import { silentLog, TestClient, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { JobScheduler } from '../../src/ops/jobs.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** a preload that makes `Intl` throw on any use, so whatever reaches for it fails loudly */
function noIntlPreload(dir: string): string {
  const file = join(dir, 'no-intl.mjs');
  writeFileSync(
    file,
    [
      'const original = globalThis.Intl;',
      "Object.defineProperty(globalThis, 'Intl', { configurable: false, get() { throw new Error('Intl used: ' + new Error().stack.split(\"\\n\").slice(2, 4).join(' <- ')); } });",
      'void original;',
    ].join('\n'),
  );
  return pathToFileURL(file).href;
}

describe('scheduled jobs', () => {
  it('runs cron jobs and keeps going when one fails', async () => {
    const jobs = new JobScheduler(silentLog);
    cleanups.push(() => jobs.stop());
    let ran = 0;
    jobs.add('ok', '* * * * * *', () => ran++);
    jobs.add('boom', '* * * * * *', () => {
      throw new Error('disk gone');
    });
    await waitFor(() => ran >= 2, 'the every-second job to run twice', 5000);
    jobs.stop();
  });

  it('skips a run while the previous one is still going, then runs again once it ends', async () => {
    const jobs = new JobScheduler(silentLog);
    cleanups.push(() => jobs.stop());
    let started = 0;
    let finish: (() => void) | undefined;
    jobs.add('slow', '* * * * * *', () => {
      started++;
      return new Promise<void>((resolve) => (finish = resolve));
    });
    await waitFor(() => started === 1, 'the first run to start', 5000);
    await waitFor(() => jobs.skipped >= 1, 'a tick to come while the first run is going', 5000);
    assert.equal(started, 1, 'no second run beside the first');
    finish?.();
    await waitFor(() => started === 2, 'the next tick after the first run ended to run it again', 5000);
    finish?.();
    jobs.stop();
  });

  it('restarts its schedules when the wall clock steps back, not for drift, stalls or steps forward', async () => {
    let wall = 1_000_000;
    let mono = 0;
    const jobs = new JobScheduler(silentLog, { wallMs: () => wall, monotonicMs: () => mono });
    cleanups.push(() => jobs.stop());
    let ran = 0;
    jobs.add('tick', '* * * * * *', () => ran++);
    const advance = (wallMs: number, monoMs: number) => {
      wall += wallMs;
      mono += monoMs;
      jobs.checkClock();
    };
    advance(1000, 1000);
    advance(1000, 2500); // the wall clock slowed by NTP: 1.5 s behind is drift
    advance(7000, 7000); // an event-loop stall moves both
    advance(3_600_000, 1000); // a step forward
    assert.equal(jobs.clockRestarts, 0);
    advance(-3_600_000, 1000); // a step back
    assert.equal(jobs.clockRestarts, 1);
    advance(1000, 1000);
    assert.equal(jobs.clockRestarts, 1);
    // The restarted schedule runs on the real clock.
    const before = ran;
    await waitFor(() => ran >= before + 2, 'the restarted every-second job to run twice', 5000);
    jobs.stop();
  });

  it('the gateway starts, serves a tracker and runs its jobs with Intl unreachable', async () => {
    const t = tempDir('tkgw-nointl-');
    cleanups.push(t.cleanup);
    const config = join(t.dir, 'c.yaml');
    writeFileSync(config, "store:\n  allowTmpfs: true\njobs:\n  healthCron: '* * * * * *'\n  checkpointCron: '* * * * * *'\n");
    const port = await freePort();
    const gw = await spawnGateway(['-c', config, '--host', '127.0.0.1', '--port', String(port), '--http-port', '0', '--data-dir', join(t.dir, 'data')], {
      NODE_OPTIONS: `--import ${noIntlPreload(t.dir)}`,
      TKGW_LOG_LEVEL: 'debug',
    });
    cleanups.push(() => gw.child.kill('SIGKILL'));
    const c = await TestClient.connect(port);
    cleanups.push(() => c.destroy());
    c.send('##,imei:359586015829802,A;');
    assert.equal((await c.waitForBytes(4)).toString(), 'LOAD');
    c.send('imei:359586015829802,tracker,0809231929,,F,112909.397,A,2234.4669,N,11354.3287,E,0.11,;');
    const runs = (job: string) => jobRuns(gw.logs(), job);
    await waitFor(() => runs('health') >= 2 && runs('checkpoint') >= 2, 'the health and checkpoint jobs to run twice', 10_000);
    gw.child.kill('SIGTERM');
    const code = await new Promise((r) => gw.child.once('exit', r));
    assert.doesNotMatch(gw.logs(), /Intl used/);
    assert.equal(code, 0, gw.logs().slice(-2000));
  });
});
