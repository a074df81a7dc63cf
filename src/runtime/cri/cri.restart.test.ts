// CriClient across a real containerd restart: calls fail as Unavailable while it is down, the
// same client works again once it is back, and the running container survived (the shims keep
// it), which is what lets a restarted nodelet adopt running pods.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UnavailableError, type PodSandboxConfig } from '../index.js';
import { testRuntimeEnv } from '../../../test/runtime-env.js';
import { eventually } from '../../../test/e2e/helpers.js';
import { CriClient } from './client.js';

const env = testRuntimeEnv();

test('cri client survives a containerd restart', { skip: env.available ? false : env.reason, timeout: 120_000 }, async () => {
  const rt = await CriClient.connect({ endpoint: env.endpoint });
  const dir = mkdtempSync(join(env.podLogDir, 'restart-'));
  const cfg: PodSandboxConfig = {
    metadata: { name: 'restart', namespace: 'contract', uid: `restart-${Date.now()}`, attempt: 0 },
    hostname: 'restart',
    logDirectory: dir,
    linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
  const sb = await rt.runPodSandbox(cfg);
  try {
    mkdirSync(join(dir, 'survivor'), { recursive: true });
    const id = await rt.createContainer(sb, { metadata: { name: 'survivor', attempt: 0 }, image: { image: env.testImage }, command: ['sleep', '3600'], logPath: 'survivor/0.log' }, cfg);
    await rt.startContainer(id);
    const startedAt = (await rt.containerStatus(id)).status.startedAt;

    const pid = Number(readFileSync(join(env.runtimeDir, 'run/containerd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    await eventually(async () => {
      try {
        await rt.listContainers();
        return false;
      } catch (e) {
        return e instanceof UnavailableError;
      }
    }, 20_000, 'calls to fail with Unavailable while containerd is down');

    execFileSync('bash', [join(env.projectRoot, 'scripts/runtime-up.sh')], { stdio: 'ignore' });
    const status = await eventually(async () => (await rt.containerStatus(id)).status, 15_000, 'the same client to reach containerd again', 50);
    assert.equal(status.state, 'CONTAINER_RUNNING', 'the container kept running across the restart');
    assert.equal(status.startedAt, startedAt, 'it is the same process, not a restart');
    const r = await rt.execSync(id, ['echo', 'still here'], 10);
    assert.equal(r.stdout.toString(), 'still here\n');
  } finally {
    await rt.stopPodSandbox(sb).catch(() => undefined);
    await rt.removePodSandbox(sb).catch(() => undefined);
    rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
