/**
 * The depot status page in a real browser (playwright-core driving Debian's chromium) against the
 * real gateway fed by the simulator: trackers listed, one goes silent and shows offline, an alarm
 * appears, the uplink view shows an outage and its recovery. Fails on any console or page error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DrainHistory, pageSnapshot } from '../../src/ops/page/index.js';
import { PAGE_HTML } from '../../src/ops/page/html.js';
import { startSimulation } from '../../src/sim/simulator.js';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/net.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('status page data', () => {
  it('is small and self-contained (no external resources)', () => {
    assert.ok(Buffer.byteLength(PAGE_HTML) < 50_000, `page is ${Buffer.byteLength(PAGE_HTML)} bytes`);
    assert.doesNotMatch(PAGE_HTML, /https?:\/\//, 'no CDN, fonts or tiles');
  });

  it('computes the drain rate from backlog samples in a bounded ring', () => {
    const d = new DrainHistory(3);
    d.add(0, 100, 1000);
    d.add(10_000, 50, 1100); // 100 new records arrived, 150 left: 15/s
    d.add(20_000, 0, 1100);
    d.add(30_000, 0, 1100);
    assert.deepEqual(d.rates().map((r) => r.drainPerSec), [5, 0]);
    const snap = pageSnapshot(
      {
        devices: () => [{ deviceId: 'a', protocol: 'h02', transport: 'tcp', online: true, lastSeenMs: 0, alarms: ['sos'] }],
        track: () => [],
        uplink: () => ({ configured: true, connected: false, session: 2, lastAckAt: null, lastError: 'refused' }),
        backlog: () => ({ rows: 1, bytes: 10, oldestAgeSec: 3, lastSeq: 9 }),
        commands: () => [],
        health: () => ({ cpuTempC: null, diskFreeBytes: 1, memoryRssBytes: 2, bytesWrittenToday: null, uptimeSec: 5 }),
        now: () => 20 * 60_000,
      },
      d,
    );
    const dev = (snap['devices'] as Array<{ silent: boolean; alarms: string[] }>)[0];
    assert.equal(dev?.silent, true, 'not heard from for 20 min: silent');
    assert.deepEqual(dev?.alarms, ['sos']);
  });
});

describe('status page in a browser', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, () => {
  let browser: Browser;
  let broker: TestBroker;
  let gw: RunningGateway;
  const errors: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    broker = await startBroker();
    cleanups.push(() => broker.stop());
    gw = await startGateway({ http: { port: await freePort() }, uplink: { url: broker.url, reconnectMinMs: 200, reconnectMaxMs: 1000 } });
    cleanups.push(() => gw.stop());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    cleanups.push(() => browser.close());
  });

  async function open(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${gw.httpPort}/`);
    return page;
  }

  it('lists trackers, shows one going silent, an alarm, and an uplink outage and recovery', async () => {
    const parked = startSimulation({ host: '127.0.0.1', port: gw.port, protocol: 'mixed', devices: 4, count: 200, intervalMs: 200, udp: false, alarmEvery: 3, speedKmh: 20, idOffset: 900_000 });
    const short = startSimulation({ host: '127.0.0.1', port: gw.port, protocol: 'h02', devices: 1, count: 3, intervalMs: 200, udp: false, alarmEvery: 0, idOffset: 950_000 });
    cleanups.push(async () => {
      parked.stop();
      await parked.done;
    });
    const page = await open();
    await page.waitForSelector('tr[data-device]');
    await waitFor(async () => (await page.locator('tr[data-device]').count()) === 5, 'five trackers listed', 15_000);
    await short.done;
    const silent = page.locator(`tr[data-device="${short.devices[0]?.id}"] td:nth-child(3)`);
    await waitFor(async () => (await silent.textContent()) === 'offline', 'the finished tracker shown offline', 15_000);
    await waitFor(async () => ((await page.locator('tr[data-device] td:nth-child(9)').allTextContents()).join('')).includes('sos'), 'an SOS alarm shown', 15_000);
    await page.selectOption('#filter', 'alarm');
    assert.ok((await page.locator('tr[data-device]').count()) >= 1);
    await page.selectOption('#filter', 'all');
    await page.locator('button[data-track]').first().click();
    await page.waitForSelector('#track polyline');
    await page.screenshot({ path: `${ARTIFACTS}status-page.png`, fullPage: true });
    assert.equal(await page.locator('#uplink-state').textContent(), 'UP');
    await broker.kill('SIGKILL');
    await waitFor(async () => (await page.locator('#uplink-state').textContent()) === 'DOWN', 'outage shown', 15_000);
    await page.screenshot({ path: `${ARTIFACTS}status-page-outage.png`, fullPage: true });
    await broker.restart();
    await waitFor(async () => (await page.locator('#uplink-state').textContent()) === 'UP', 'recovery shown', 20_000);
    await page.close();
    assert.deepEqual(errors, [], 'no console or page errors');
  });
});
