// CriClient's container events against the real containerd (1.6: GetContainerEvents is
// UNIMPLEMENTED, so this reads containerd's own event service): a busybox container that exits
// by itself is reported as stopped, with its ID, within a second of its exit; its start, its
// sandbox's events and its removal come through; an exec's exit does not.
// Skipped when no runtime answers (see test/runtime-env.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ContainerEvent, PodSandboxConfig } from '../index.js';
import { testRuntimeEnv } from '../../../test/runtime-env.js';
import { eventually } from '../../../test/e2e/helpers.js';
import { CriClient } from './client.js';

const env = testRuntimeEnv();

test('cri client: container events from containerd', { skip: env.available ? false : env.reason, timeout: 60_000 }, async () => {
  const rt = await CriClient.connect({ endpoint: env.endpoint });
  const dir = mkdtempSync(join(env.podLogDir, 'events-'));
  const uid = `cri-events-${process.pid}-${Date.now()}`;
  const cfg: PodSandboxConfig = {
    metadata: { name: uid, namespace: 'cri-events', uid, attempt: 0 },
    hostname: '', // host network: no hostname (see NOTES)
    logDirectory: dir,
    labels: { 'io.kubernetes.pod.namespace': 'cri-events' },
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
  const got: (ContainerEvent & { at: number })[] = [];
  const ready: string[] = [];
  const errors: Error[] = [];
  const watch = rt.watchContainerEvents({ onEvent: (e) => got.push({ ...e, at: Date.now() }), onReady: (s) => ready.push(s), onError: (e) => errors.push(e) });
  let sb = '';
  try {
    await eventually(async () => ready.length > 0 || errors.length > 0, 5000, 'the event stream to be up');
    assert.deepEqual(errors, []);
    assert.deepEqual(ready, ['containerd'], 'containerd 1.6 has no GetContainerEvents: its own events stand in');

    sb = await rt.runPodSandbox(cfg);
    mkdirSync(join(dir, 'app'), { recursive: true });
    const id = await rt.createContainer(sb, { metadata: { name: 'app', attempt: 0 }, image: { image: env.testImage }, command: ['sh', '-c', 'sleep 1; exit 3'], logPath: 'app/0.log' }, cfg);
    await rt.startContainer(id);
    const exec = await rt.execSync(id, ['true'], 10);
    assert.equal(exec.exitCode, 0);

    const stopped = await eventually(async () => got.find((e) => e.containerId === id && e.type === 'stopped'), 10_000, 'the stopped event');
    const status = await eventually(async () => {
      const s = (await rt.containerStatus(id)).status;
      return s.state === 'CONTAINER_EXITED' ? s : undefined;
    }, 10_000, 'the container to be exited', 20);
    assert.equal(status.exitCode, 3);
    const exitedAt = status.finishedAt / 1e6;
    const lagMs = stopped.at - exitedAt;
    assert.ok(lagMs < 1000, `stopped event ${lagMs.toFixed(0)} ms after the exit`);
    assert.ok(Math.abs(stopped.createdAt / 1e6 - exitedAt) < 1000, 'the event carries containerd\'s time');
    const mine = (cid: string): string[] => got.filter((e) => e.containerId === cid).map((e) => e.type);
    assert.deepEqual(mine(id), ['created', 'started', 'stopped'], 'one stopped: the exec\'s exit is not the container\'s');
    assert.deepEqual(mine(sb), ['created', 'started']);

    await rt.removeContainer(id);
    await eventually(async () => mine(id).includes('deleted'), 5000, 'the deleted event');
    await rt.stopPodSandbox(sb);
    await eventually(async () => mine(sb).includes('stopped'), 5000, 'the sandbox\'s stopped event');
  } finally {
    watch.stop();
    if (sb) {
      await rt.stopPodSandbox(sb).catch(() => undefined);
      await rt.removePodSandbox(sb).catch(() => undefined);
    }
    rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(errors, [], 'stop() is silent');
});
