// The files that run a worker on each Docker host (deploy/): the systemd unit passes systemd's own check, the
// compose service validates with docker-compose and gives the worker only this host's engine.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';

const deploy = join(__dirname, '..', '..', 'deploy');

describe('deploy files for a worker per host', () => {
  it('the systemd unit verifies and starts `tyk-upgrade worker --host`', () => {
    const unit = join(deploy, 'tyk-upgrade-worker.service');
    assert.equal(execFileSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), '');
    const text = execFileSync('cat', [unit], { encoding: 'utf8' });
    assert.match(text, /^ExecStart=\/usr\/bin\/env tyk-upgrade worker --host \$\{TYK_UPGRADE_HOST\}$/m);
    assert.match(text, /^Restart=always$/m);
  });

  it('the compose service validates, needs the host name, and mounts only the local Docker socket', () => {
    const file = join(deploy, 'docker-compose.worker.yml');
    const missing = (() => {
      try {
        execFileSync('docker-compose', ['-f', file, 'config', '-q'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, TYK_UPGRADE_HOST: '' },
        });
        return '';
      } catch (err) {
        return String((err as { stderr?: string }).stderr);
      }
    })();
    assert.match(missing, /set TYK_UPGRADE_HOST to this host's name in plans/);
    const resolved = parseYaml(
      execFileSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8', env: { ...process.env, TYK_UPGRADE_HOST: 'web-1' } }),
    ) as {
      services: Record<string, { command: string[]; volumes: string[]; network_mode: string }>;
    };
    const worker = resolved.services['tyk-upgrade-worker'];
    assert.deepEqual(worker.command, ['worker', '--host', 'web-1']);
    assert.equal(worker.network_mode, 'host');
    // docker-compose 1.29 resolves volumes to the short form "source:target:mode".
    assert.deepEqual(
      worker.volumes.filter((v) => v.includes('docker.sock')),
      ['/var/run/docker.sock:/var/run/docker.sock:rw'],
    );
  });
});
