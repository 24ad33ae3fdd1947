import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/install.sh', import.meta.url));
const t = tempDir('tkgw-install-');
after(t.cleanup);

function fakeSystemctl(): { path: string; calls: () => string[] } {
  const log = join(t.dir, 'systemctl.log');
  const path = join(t.dir, 'systemctl');
  writeFileSync(path, `#!/bin/sh\necho "$@" >> '${log}'\n`);
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

const run = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, TKGW_INSTALL_SKIP_BUILD: '1', ...env } });

describe('scripts/install.sh', () => {
  it('--dry-run prints every step and changes nothing', () => {
    const prefix = join(t.dir, 'dry');
    const fake = fakeSystemctl();
    const r = run(['--dry-run', '--prefix', prefix], { SYSTEMCTL: fake.path });
    assert.equal(r.status, 0, r.stderr);
    for (const step of ['checking Node.js', 'directories', 'application files', 'configuration', 'systemd unit']) assert.match(r.stdout, new RegExp(step));
    assert.match(r.stdout, /daemon-reload/);
    assert.equal(existsSync(prefix), false, 'nothing created');
    assert.deepEqual(fake.calls(), [], 'systemctl not called');
  });

  it('installs into a prefix with a fake systemctl, twice, keeping the config', () => {
    const prefix = join(t.dir, 'root');
    const fake = fakeSystemctl();
    const first = run(['--prefix', prefix], { SYSTEMCTL: fake.path });
    assert.equal(first.status, 0, first.stderr);
    const conf = join(prefix, 'etc/tk100b-gateway/config.yaml');
    assert.ok(existsSync(conf));
    assert.ok(existsSync(join(prefix, 'etc/systemd/system/tk100b-gateway.service')));
    assert.ok(existsSync(join(prefix, 'opt/tk100b-gateway/package.json')));
    writeFileSync(conf, 'tenant: my-depot\n');
    const second = run(['--prefix', prefix], { SYSTEMCTL: fake.path });
    assert.equal(second.status, 0, second.stderr);
    assert.equal(readFileSync(conf, 'utf8'), 'tenant: my-depot\n', 'existing config kept');
    assert.match(second.stdout, /exists: not touched/);
    assert.deepEqual(fake.calls(), ['daemon-reload', 'enable tk100b-gateway.service', 'restart tk100b-gateway.service', 'daemon-reload', 'enable tk100b-gateway.service', 'restart tk100b-gateway.service']);
  });

  it('refuses unknown options with a reason', () => {
    const r = run(['--bogus'], {});
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown option --bogus/);
  });
});
