// Container garbage collection against the main containerd: the dead containers a crash-looping
// static pod leaves behind are trimmed to the newest one per container while the restart count
// nodelet reports keeps growing, and a pass removes what a node's deleted pods left in the
// runtime and on disk (containers, sandboxes, log directories).
//
// The pods run under a real `nodelet run`; the passes are a ContainerGC built here with the
// nodelet's node name and a CRI client (nodelet's own passes come every minute, too slow for a
// test). nodelet removes a deleted pod itself (housekeeping) while it runs, so the second test
// gives GC the case it is for: the nodelet was killed after its pods were stopped and their
// manifests removed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { ContainerGC, leftoverMinAgeMs } from '../../src/kubelet/kuberuntime/gc.js';
import { nodeNameLabel } from '../../src/kubelet/kuberuntime/labels.js';
import { CriClient } from '../../src/runtime/cri/index.js';
import type { Container } from '../../src/runtime/index.js';
import { FakeClock, RealClock } from '../../src/util/clock.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { testRuntimeEnv } from '../runtime-env.js';
import { eventually, removePodsInNamespace } from './helpers.js';
import { NodeletProcess } from './nodelet-process.js';

const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'e2e-gc';
const nodeName = `gc-e2e-${process.pid}`;
const t0 = Date.now();
const progress = (msg: string): void => void process.stderr.write(`[gc e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

function manifest(name: string, command: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: ["sh", "-c", ${JSON.stringify(command)}]
`;
}

if (!env.available) {
  test('container GC against containerd', { skip: env.reason }, () => {});
} else {
  describe('container GC against containerd', { concurrency: false, timeout: 180_000 }, () => {
    let rt: CriClient;
    let n: NodeletProcess;
    let startedAt = 0;
    const full = (name: string): string => `${name}-${nodeName}`;
    const containersOf = async (name: string): Promise<Container[]> =>
      rt.listContainers({ labelSelector: { 'io.kubernetes.pod.namespace': ns, 'io.kubernetes.pod.name': full(name) } });
    /** Exited containers (one just created and about to start is not dead). */
    const deadOf = async (name: string): Promise<Container[]> => (await containersOf(name)).filter((c) => c.state === 'CONTAINER_EXITED');
    const restartCount = async (name: string): Promise<number> => (await n.pod(name))?.status?.containerStatuses?.[0]?.restartCount ?? -1;
    const attempt = (c: Container): number => Number(c.annotations['io.kubernetes.container.restartCount']);

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      await removePodsInNamespace(rt, ns);
      n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName, extraArgs: ['--maximum-dead-containers-per-container', '1'] });
      await n.start();
      startedAt = Date.now();
    });

    after(async () => {
      await n.stop();
      await removePodsInNamespace(rt, ns);
      rt.close();
      n.cleanup();
    });

    it('keeps one dead container per container of a crash-looping pod; the restart count keeps growing', async () => {
      n.writeManifest('crasher.yaml', manifest('crasher', 'echo crash; exit 1'));
      n.writeManifest('sleeper.yaml', manifest('sleeper', 'exec sleep 3600'));
      // two dead containers, and the status nodelet reports caught up with the first restart
      await eventually(async () => (await deadOf('crasher')).length >= 2 && (await restartCount('crasher')) >= 1, 60_000, 'two dead crasher containers', 250);
      const sleeper = await eventually(async () => {
        const r = (await containersOf('sleeper')).filter((c) => c.state === 'CONTAINER_RUNNING');
        return r.length === 1 ? r[0]! : undefined;
      }, 30_000, 'sleeper running');
      const before1 = await restartCount('crasher');
      progress(`crasher: ${(await deadOf('crasher')).length} dead containers, restartCount ${before1}`);
      assert.ok(before1 >= 1, `restartCount ${before1}`);

      const gc = new ContainerGC({
        runtime: rt,
        clock: new RealClock(),
        nodeName,
        podLogsDir: n.logsDir,
        // both pods exist: nothing of theirs goes but the surplus dead containers
        podStateProvider: { isPodDeleted: () => false, isPodTerminated: () => false },
        policy: { maxPerPodContainer: 1 },
      });
      const deadBefore = (await deadOf('crasher')).sort((a, b) => attempt(a) - attempt(b));
      const r1 = await gc.garbageCollect();
      assert.ok(r1.containersRemoved >= deadBefore.length - 1, `removed ${r1.containersRemoved} of ${deadBefore.length} dead`);
      const deadAfter = await deadOf('crasher');
      assert.equal(deadAfter.length, 1, `one dead container left: ${deadAfter.map(attempt).join(',')}`);
      assert.equal(deadAfter[0]!.id, deadBefore.at(-1)!.id, 'the newest dead one is kept');
      assert.deepEqual((await containersOf('sleeper')).map((c) => [c.id, c.state]), [[sleeper.id, 'CONTAINER_RUNNING']], 'a running pod is untouched');
      const uid = (await n.pod('crasher'))!.metadata!.uid!;
      assert.ok(existsSync(join(n.logsDir, `${ns}_${full('crasher')}_${uid}`)), 'an existing pod keeps its log directory');

      // the count does not fall back when the older containers are gone, and goes on growing
      const counts: number[] = [];
      const grown = await eventually(async () => {
        const rc = await restartCount('crasher');
        counts.push(rc);
        return rc > before1 ? rc : undefined;
      }, 45_000, 'the next restart', 250);
      assert.ok(counts.every((c, i) => c >= (counts[i - 1] ?? before1)), `restartCount never decreased: ${before1},${counts.join(',')}`);
      progress(`crasher restarted: restartCount ${grown}`);
      const newest = (await containersOf('crasher')).sort((a, b) => attempt(b) - attempt(a))[0]!;
      assert.equal(attempt(newest), grown, 'the newest container is attempt restartCount');

      // once that one died too, a second pass again leaves only the newest dead container
      await eventually(async () => (await deadOf('crasher')).length >= 2, 30_000, 'the new container to die', 250);
      await gc.garbageCollect();
      const left = await deadOf('crasher');
      assert.deepEqual(left.map(attempt), [grown], 'only the newest dead container left');
      assert.ok((await restartCount('crasher')) >= grown);
    });

    it("nodelet's own pass (every minute, --maximum-dead-containers-per-container 1) trims them too", async () => {
      await eventually(async () => (await deadOf('crasher')).length >= 2, 40_000, 'two dead crasher containers again', 250);
      const dead = (await deadOf('crasher')).sort((a, b) => attempt(a) - attempt(b));
      progress(`waiting for nodelet's GC pass, due ${((startedAt + 60_000 - Date.now()) / 1000).toFixed(0)} s from now`);
      await eventually(async () => (await deadOf('crasher')).length <= 1, startedAt + 75_000 - Date.now(), "nodelet's GC pass to remove the older dead container", 250);
      const left = await deadOf('crasher');
      assert.deepEqual(left.map((c) => c.id), [dead.at(-1)!.id], 'the newest dead container kept');
      assert.ok(Date.now() - startedAt >= 59_000, 'not before the pass a minute after start');
    });

    it("removes a deleted pod's containers, sandbox and log directory", async () => {
      const pods = await n.pods();
      const uids = new Set(pods.map((p) => p.metadata!.uid!));
      assert.equal(uids.size, 2);
      const logDirs = pods.map((p) => join(n.logsDir, `${ns}_${p.metadata!.name}_${p.metadata!.uid}`));
      // the nodelet dies after stopping its pods (the stop done here through CRI) and before
      // removing them; their manifests are gone
      await n.stop('SIGKILL');
      const mine = { labelSelector: { [nodeNameLabel]: nodeName } };
      const sandboxes = await rt.listPodSandbox(mine);
      assert.equal(sandboxes.length >= 2, true, `sandboxes: ${sandboxes.length}`);
      for (const s of sandboxes) await rt.stopPodSandbox(s.id);
      n.removeManifest('crasher.yaml');
      n.removeManifest('sleeper.yaml');
      const containers = await rt.listContainers(mine);
      assert.ok(containers.length >= 2 && containers.every((c) => c.state !== 'CONTAINER_RUNNING'), 'dead containers left in the runtime');
      for (const d of logDirs) assert.ok(existsSync(d), `${d} exists`);
      progress(`left behind: ${containers.length} containers, ${sandboxes.length} sandboxes, ${logDirs.length} log dirs`);

      const logger = new MemoryLogger();
      const gc = new ContainerGC({
        runtime: rt,
        logger,
        // log directories younger than a minute are left (another nodelet may be creating that
        // pod): this pass runs as if a minute had gone by since
        clock: new FakeClock(Date.now() + leftoverMinAgeMs + 5_000),
        nodeName,
        podLogsDir: n.logsDir,
        podStateProvider: { isPodDeleted: (id) => uids.has(id), isPodTerminated: (id) => uids.has(id) },
      });
      const r = await gc.garbageCollect();
      assert.equal(r.failures, 0, JSON.stringify(logger.records.filter((x) => x.level === 'error')));
      assert.deepEqual(await rt.listContainers(mine), [], 'no container left');
      assert.deepEqual(await rt.listPodSandbox(mine), [], 'no sandbox left');
      for (const d of logDirs) assert.ok(!existsSync(d), `${d} removed`);
      assert.ok(existsSync(n.logsDir), 'the pod logs directory itself stays');
      assert.deepEqual([r.containersRemoved, r.sandboxesRemoved, r.logDirsRemoved], [containers.length, sandboxes.length, logDirs.length]);
    });
  });
}
