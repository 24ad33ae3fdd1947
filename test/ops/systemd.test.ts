import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const UNIT = fileURLToPath(new URL('../../systemd/tk100b-gateway.service', import.meta.url));
const text = readFileSync(UNIT, 'utf8');

describe('systemd unit', () => {
  it('declares notify, watchdog, restart limits and hardening', () => {
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'WatchdogSec=',
      'Restart=on-failure',
      'StartLimitBurst=',
      'User=tkgw',
      'StateDirectory=tk100b-gateway',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/tk100b-gateway',
      'PrivateTmp=yes',
      'ProtectHome=yes',
      'LimitNOFILE=',
    ]) {
      assert.ok(text.includes(line), `unit has ${line}`);
    }
  });

  it('passes systemd-analyze verify', (t) => {
    const tool = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
    if (!tool) {
      t.skip('systemd-analyze is not installed on this machine');
      return;
    }
    const r = spawnSync(tool, ['verify', UNIT], { encoding: 'utf8' });
    // Missing /usr/bin/node or user tkgw on a build machine are environment facts, not unit errors.
    const problems = (r.stderr ?? '').split('\n').filter((l) => l.trim() && !/node|tkgw|Failed to|not found|No such file/i.test(l));
    assert.deepEqual(problems, []);
  });
});
