// Images end to end against the small-disk containerd (scripts/smalldisk-up.sh): image garbage
// collection on a really full filesystem, pod admission under DiskPressure, pulls from a registry
// that wants credentials, and the pull policies as a user of `nodelet run` sees them.
//
// What the user sees is asserted: the filesystem's usage (statfs), which images containerd still
// has, the pods' status in nodelet's local API and `nodelet get pods`, the events. The small
// containerd's busybox and pause images are never removed; every other image, pod and filler
// file made here is removed at the end.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { ImageError, ImageGCManager, ImagePuller } from '../../src/kubelet/images/index.js';
import type { EventRecorder, EventType, ObjectRef } from '../../src/kubelet/events/index.js';
import { CriClient } from '../../src/runtime/cri/index.js';
import type { Container, PodSandboxConfig } from '../../src/runtime/index.js';
import { FakeClock, RealClock } from '../../src/util/clock.js';
import { fillTo, fsUsage, pushSizedImages, smallDiskEnv } from '../smalldisk-env.js';
import { eventually, removePodsInNamespace, runCli } from './helpers.js';
import { NodeletProcess } from './nodelet-process.js';

const env = smallDiskEnv();
const MiB = 1024 * 1024;
const t0 = Date.now();
const progress = (msg: string): void => void process.stderr.write(`[images e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

interface Recorded {
  obj: ObjectRef;
  type: EventType;
  reason: string;
  message: string;
}

function recordingRecorder(): EventRecorder & { events: Recorded[] } {
  const events: Recorded[] = [];
  return { events, event: (obj, type, reason, message) => void events.push({ obj: { ...obj }, type, reason, message }) };
}

/** A static pod manifest with one container. */
function manifest(name: string, ns: string, image: string, opts: { policy?: string; command?: string } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${JSON.stringify(image)}
      imagePullPolicy: ${opts.policy ?? 'IfNotPresent'}
      command: ["sh", "-c", ${JSON.stringify(opts.command ?? 'exec sleep 3600')}]
`;
}

interface EventItem {
  involvedObject: ObjectRef;
  type: string;
  reason: string;
  message: string;
}

async function events(n: NodeletProcess, q: Record<string, string>): Promise<EventItem[]> {
  const r = await fetch(`http://127.0.0.1:${n.port}/events?${new URLSearchParams(q).toString()}`);
  return ((await r.json()) as { items: EventItem[] }).items;
}

if (!env.available) {
  test('images against the small-disk containerd', { skip: env.reason }, () => {});
} else {
  describe('images against the small-disk containerd', { concurrency: false, timeout: 300_000 }, () => {
    let rt: CriClient;
    /** gc/a .. gc/e: five distinct 15 MiB images (each ~30 MiB of the filesystem once pulled). */
    let sized: string[] = [];
    const fillers: Array<() => void> = [];
    const namespaces = ['e2e-imagegc', 'e2e-diskpressure', 'e2e-pulls'];
    const nodelets: NodeletProcess[] = [];
    const logDirs: string[] = [];

    const imageTags = async (): Promise<string[]> => (await rt.listImages()).flatMap((i) => i.repoTags).sort();
    const removeFillers = (): void => {
      for (const f of fillers.splice(0)) f();
    };
    const newNodelet = (nodeName: string, extraArgs: string[]): NodeletProcess => {
      const n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.dir, nodeName, extraArgs: ['--pod-infra-container-image', env.pauseImage, ...extraArgs] });
      nodelets.push(n);
      return n;
    };
    const containersOf = async (ns: string, pod: string): Promise<Container[]> => rt.listContainers({ labelSelector: { 'io.kubernetes.pod.namespace': ns, 'io.kubernetes.pod.name': pod } });

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      progress('building/pushing the gc/* images');
      sized = await pushSizedImages(['gc/a', 'gc/b', 'gc/c', 'gc/d', 'gc/e'], 15);
      // leftovers of an interrupted run
      for (const ns of namespaces) await removePodsInNamespace(rt, ns);
      for (const img of [...sized, env.privateImage]) await rt.removeImage(img).catch(() => undefined);
      progress('ready');
    });

    after(async () => {
      removeFillers();
      for (const n of nodelets) await n.stop().catch(() => undefined);
      for (const ns of namespaces) await removePodsInNamespace(rt, ns);
      for (const img of [...sized, env.privateImage]) await rt.removeImage(img).catch(() => undefined);
      const left = await imageTags();
      rt.close();
      for (const n of nodelets) n.cleanup();
      for (const d of logDirs) rmSync(d, { recursive: true, force: true });
      // the environment's own images must survive everything above
      assert.ok(left.includes(env.testImage) && left.includes(env.pauseImage), `busybox and pause still in containerd: ${left.join(' ')}`);
    });

    it('image GC frees the least recently used unused images down to the low threshold, and says so when it cannot', async () => {
      const [a, b, c, d, e] = sized as [string, string, string, string, string];
      const clock = new FakeClock(Date.now());
      const recorder = recordingRecorder();
      const gc = new ImageGCManager({ runtime: rt, clock, nodeName: 'e2e-imagegc-node', recorder, sandboxImage: env.pauseImage });
      assert.deepEqual(gc.policy, { highThresholdPercent: 85, lowThresholdPercent: 80, minAgeMs: 120_000, maxAgeMs: 0 });
      const tick = async (): Promise<void> => {
        clock.advance(60_000);
        const r = await gc.garbageCollect(); // below the high threshold: only records the images
        assert.deepEqual(r.removed, [], `nothing removed at ${r.usagePercent} %`);
      };

      // the images are first detected in the order pulled, a minute apart
      await tick();
      const id: Record<string, string> = {};
      for (const img of sized) {
        id[img] = await rt.pullImage(img);
        await tick();
      }
      progress('pulled gc/a..e');

      // a pod runs gc/c and busybox; a container once created from gc/a makes it recently used
      const logDir = mkdtempSync(join(env.podLogDir, 'imagegc-'));
      logDirs.push(logDir);
      const uid = `imagegc-${Date.now()}`;
      const cfg: PodSandboxConfig = {
        metadata: { name: 'imagegc', namespace: 'e2e-imagegc', uid, attempt: 0 },
        hostname: 'imagegc',
        labels: { 'io.kubernetes.pod.name': 'imagegc', 'io.kubernetes.pod.namespace': 'e2e-imagegc', 'io.kubernetes.pod.uid': uid },
        logDirectory: logDir,
        linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
      };
      const sandbox = await rt.runPodSandbox(cfg);
      const start = async (name: string, image: string, command: string[]): Promise<string> => {
        mkdirSync(join(logDir, name), { recursive: true });
        const cid = await rt.createContainer(sandbox, { metadata: { name, attempt: 0 }, image: { image }, command, logPath: `${name}/0.log` }, cfg);
        await rt.startContainer(cid);
        return cid;
      };
      const onC = await start('uses-c', c, ['sleep', '3600']);
      const onBusybox = await start('uses-busybox', env.testImage, ['sleep', '3600']);
      const onA = await start('used-a-once', a, ['true']);
      await tick(); // gc/a, gc/c and busybox in use now
      await eventually(async () => (await rt.containerStatus(onA)).status.state === 'CONTAINER_EXITED', 10_000, 'the gc/a container to exit');
      await rt.removeContainer(onA);
      await tick(); // gc/a no longer in use: last used a minute ago, later than b, d and e ever were
      clock.advance(60_000); // gc/e, the youngest, is now 3 minutes old: past imageMinimumGCAge
      const records = new Map(gc.getImageRecords().map((r) => [r.id, r]));
      const size = (img: string): number => records.get(id[img]!)!.size;
      assert.ok(size(b) > 15 * MiB && size(b) < 17 * MiB, `ImageStatus size of gc/b: ${size(b)}`);

      // fill the filesystem so that image GC must free 2.5 images' worth: three images go
      const u = fsUsage(env.mountpoint);
      const toFree = size(b) + size(d) + size(e) / 2;
      const wantAvailable = Math.trunc((u.capacityBytes * 20) / 100) - toFree;
      fillers.push(fillTo(env.mountpoint, 100 - (wantAvailable * 100) / u.capacityBytes));
      const full = fsUsage(env.mountpoint);
      progress(`filled to ${full.usedPercent.toFixed(1)} %`);
      assert.ok(full.usedPercent >= 85, `over the high threshold: ${full.usedPercent.toFixed(1)} %`);

      clock.advance(60_000);
      const result = await gc.garbageCollect();
      assert.ok(result.usagePercent >= 85, `GC saw ${result.usagePercent} %`);
      // least recently used first: b, d, e were never used (first detected in that order); a was used
      assert.deepEqual(result.removed, [id[b], id[d], id[e]], `removed ${result.removed.map((x) => sized.find((s) => id[s] === x) ?? x).join(', ')}`);
      assert.deepEqual(await imageTags(), [a, c, env.testImage, env.pauseImage].sort(), 'gc/a, the running gc/c, busybox and pause are left');
      const after1 = await eventually(async () => {
        const now = fsUsage(env.mountpoint);
        return now.usedPercent <= 80 ? now : undefined;
      }, 15_000, 'usage down to 80 % or less');
      progress(`image GC brought usage to ${after1.usedPercent.toFixed(1)} %`);
      assert.equal(recorder.events.length, 0, `no warning when enough was freed: ${JSON.stringify(recorder.events)}`);
      for (const cid of [onC, onBusybox]) assert.equal((await rt.containerStatus(cid)).status.state, 'CONTAINER_RUNNING', 'the pod kept running');

      // now so full that removing every unused image (gc/a alone) cannot reach 80 %
      fillers.push(fillTo(env.mountpoint, 99));
      clock.advance(60_000);
      await assert.rejects(gc.garbageCollect(), /^Error: Failed to garbage collect required amount of images\. Attempted to free \d+ bytes, but only found \d+ bytes eligible to free\.$/);
      const warnings = recorder.events.filter((x) => x.reason === 'FreeDiskSpaceFailed');
      assert.equal(warnings.length, 1, JSON.stringify(recorder.events));
      const w = warnings[0]!;
      assert.equal(w.type, 'Warning');
      assert.deepEqual([w.obj.kind, w.obj.name], ['Node', 'e2e-imagegc-node']);
      const m = /^Failed to garbage collect required amount of images\. Attempted to free (\d+) bytes, but only found (\d+) bytes eligible to free\.$/.exec(w.message);
      assert.ok(m, w.message);
      const cap = fsUsage(env.mountpoint).capacityBytes;
      const expectedToFree = Math.trunc((cap * 20) / 100) - Math.trunc(cap / 100);
      assert.ok(Math.abs(Number(m[1]) - expectedToFree) < 2 * MiB, `attempted ${m[1]}, about ${expectedToFree} expected`);
      assert.equal(Number(m[2]), size(a), 'only gc/a was eligible');
      assert.deepEqual(await imageTags(), [c, env.testImage, env.pauseImage].sort(), 'gc/a removed; in-use and sandbox images kept');
      assert.ok(fsUsage(env.mountpoint).usedPercent > 80, 'still over the low threshold');

      removeFillers();
      await rt.stopPodSandbox(sandbox);
      await rt.removePodSandbox(sandbox);
      await rt.removeImage(c);
    });

    it('rejects a new pod under DiskPressure (imagefs) and keeps the running one', async () => {
      const ns = 'e2e-diskpressure';
      // nodefs (the root dir on the big disk) never counts; imagefs is the small filesystem
      const n = newNodelet('e2e-disk', ['--eviction-hard', 'imagefs.available<15%,nodefs.available<1%', '--minimum-image-ttl-duration', '1h']);
      await n.start();
      n.writeManifest('before.yaml', manifest('before', ns, env.testImage));
      await eventually(async () => (await n.pod('before'))?.status?.phase === 'Running', 60_000, 'the pod started before the pressure to run');
      const running = (await containersOf(ns, 'before-e2e-disk')).filter((x) => x.state === 'CONTAINER_RUNNING');
      assert.equal(running.length, 1);

      fillers.push(fillTo(env.mountpoint, 90)); // imagefs.available 10 % < 15 %
      progress(`filled to ${fsUsage(env.mountpoint).usedPercent.toFixed(1)} %, waiting for an eviction pass`);
      await eventually(
        async () => (await events(n, { name: 'e2e-disk' })).some((x) => x.reason === 'EvictionThresholdMet' && x.message === 'Attempting to reclaim ephemeral-storage'),
        25_000,
        'an eviction pass to see the imagefs threshold met',
        250,
      );
      n.writeManifest('rejected.yaml', manifest('rejected', ns, env.testImage));
      const pod = await eventually(async () => {
        const p = await n.pod('rejected');
        return p?.status?.phase === 'Failed' ? p : undefined;
      }, 30_000, 'the new pod to be rejected');
      assert.equal(pod.status?.reason, 'Evicted');
      assert.equal(pod.status?.message, 'Pod was rejected: The node had condition: [DiskPressure]. ');
      const cli = await runCli(['get', 'pods', '-n', ns, '--server', `http://127.0.0.1:${n.port}`]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /^rejected-e2e-disk\s+0\/1\s+Evicted\s+0\s+\S+$/m);
      assert.match(cli.stdout, /^before-e2e-disk\s+1\/1\s+Running\s+0\s+\S+$/m);
      const ev = await events(n, { uid: pod.metadata!.uid! });
      assert.ok(ev.some((x) => x.type === 'Warning' && x.reason === 'Evicted' && x.message === 'Pod was rejected: The node had condition: [DiskPressure]. '), JSON.stringify(ev));
      // never started: no sandbox or container, not even a few syncs later
      await new Promise((r) => setTimeout(r, 3000));
      assert.deepEqual(await containersOf(ns, 'rejected-e2e-disk'), []);
      assert.deepEqual(await rt.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.namespace': ns, 'io.kubernetes.pod.name': 'rejected-e2e-disk' } }), []);
      assert.equal((await n.pod('rejected'))?.status?.phase, 'Failed');
      // the pod admitted before the pressure runs on, the same container
      assert.deepEqual(
        (await containersOf(ns, 'before-e2e-disk')).filter((x) => x.state === 'CONTAINER_RUNNING').map((x) => x.id),
        running.map((x) => x.id),
      );
      assert.equal((await n.pod('before'))?.status?.phase, 'Running');

      removeFillers();
      await n.stop();
      await removePodsInNamespace(rt, ns);
    });

    it('pulls a private image only with the right pull secret (ImagePuller)', async () => {
      const clock = new RealClock();
      const recorder = recordingRecorder();
      const dockerConfigSecret = (name: string, password: string): V1Secret => ({
        metadata: { name, namespace: 'e2e-pulls' },
        type: 'kubernetes.io/dockerconfigjson',
        data: {
          '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [env.registry]: { auth: Buffer.from(`${env.username}:${password}`).toString('base64') } } })).toString('base64'),
        },
      });
      const secrets: Record<string, V1Secret> = { good: dockerConfigSecret('good', env.password), wrong: dockerConfigSecret('wrong', 'not-the-password') };
      const puller = new ImagePuller({
        runtime: rt,
        clock,
        recorder,
        getPullSecrets: async (pod) => (pod.spec?.imagePullSecrets ?? []).flatMap((r) => (r.name && secrets[r.name] ? [secrets[r.name]!] : [])),
      });
      const podWith = (name: string, secret?: string): V1Pod => ({
        metadata: { name, namespace: 'e2e-pulls', uid: `pulls-${name}-${Date.now()}` },
        spec: { containers: [{ name: 'main', image: env.privateImage, imagePullPolicy: 'Always' }], ...(secret ? { imagePullSecrets: [{ name: secret }] } : {}) },
      });
      const ensure = (pod: V1Pod) =>
        puller.ensureImageExists(pod, pod.spec!.containers[0]!, { kind: 'Pod', name: pod.metadata!.name!, namespace: 'e2e-pulls', uid: pod.metadata!.uid!, fieldPath: 'spec.containers{main}' });

      for (const [name, secret] of [['wrong-secret', 'wrong'], ['no-secret', undefined]] as const) {
        const err = await ensure(podWith(name, secret)).then(
          () => assert.fail(`${name}: the pull succeeded`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ImageError, String(err));
        assert.equal(err.reason, 'ErrImagePull');
        assert.match(err.message, new RegExp(`^Failed to pull image "${env.privateImage.replace(/[.]/g, '\\.')}": .*401 Unauthorized`));
        assert.equal(await rt.imageStatus(env.privateImage), null, `${name}: nothing pulled`);
      }
      const failed = recorder.events.filter((x) => x.reason === 'Failed');
      assert.equal(failed.length, 2);
      assert.ok(failed.every((x) => x.type === 'Warning' && /401 Unauthorized/.test(x.message)), JSON.stringify(failed));

      const ok = await ensure(podWith('good-secret', 'good'));
      assert.match(ok.imageRef, /^sha256:[0-9a-f]{64}$/);
      assert.equal((await rt.imageStatus(env.privateImage))?.id, ok.imageRef, 'the private image is in containerd');
      const pulled = recorder.events.find((x) => x.reason === 'Pulled');
      assert.match(pulled?.message ?? '', new RegExp(`^Successfully pulled image "${env.privateImage.replace(/[.]/g, '\\.')}" in \\S+ \\(\\S+ including waiting\\)\\. Image size: [1-9]\\d* bytes\\.$`));
      await rt.removeImage(env.privateImage);
      assert.equal(await rt.imageStatus(env.privateImage), null);
    });

    it('through nodelet: pull policies, and a private image with the node docker config.json', async () => {
      const ns = 'e2e-pulls';
      const n = newNodelet('e2e-pulls', []);
      await n.start();
      const absent = `${env.publicRegistry}/nodelet-e2e/absent:1`;
      n.writeManifest('private.yaml', manifest('private', ns, env.privateImage, { policy: 'Always' }));
      n.writeManifest('never.yaml', manifest('never', ns, absent, { policy: 'Never' }));
      n.writeManifest('present.yaml', manifest('present', ns, env.testImage, { policy: 'IfNotPresent' }));

      // Never + absent: ErrImageNeverPull, and nothing pulled
      const never = await eventually(async () => {
        const w = (await n.pod('never'))?.status?.containerStatuses?.[0]?.state?.waiting;
        return w?.reason === 'ErrImageNeverPull' ? w : undefined;
      }, 30_000, 'never: waiting with ErrImageNeverPull');
      assert.equal(never.message, `Container image "${absent}" is not present with pull policy of Never`);
      assert.equal(await rt.imageStatus(absent), null);

      // IfNotPresent + present: runs, "already present on machine", no pull
      const present = await eventually(async () => {
        const p = await n.pod('present');
        return p?.status?.phase === 'Running' ? p : undefined;
      }, 30_000, 'present: Running');
      const pev = await events(n, { uid: present.metadata!.uid! });
      assert.ok(pev.some((x) => x.type === 'Normal' && x.reason === 'Pulled' && x.message === `Container image "${env.testImage}" already present on machine`), JSON.stringify(pev));
      assert.ok(!pev.some((x) => x.reason === 'Pulling'), 'no pull for a present image');

      // a private image without credentials: ErrImagePull (401), then ImagePullBackOff
      const priv = await eventually(async () => {
        const p = await n.pod('private');
        const r = p?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        return r === 'ErrImagePull' || r === 'ImagePullBackOff' ? p : undefined;
      }, 30_000, 'private: waiting with ErrImagePull or ImagePullBackOff');
      const privEvents = await events(n, { uid: priv.metadata!.uid! });
      assert.ok(privEvents.some((x) => x.type === 'Warning' && x.reason === 'Failed' && /^Failed to pull image ".*": .*401 Unauthorized/.test(x.message)), JSON.stringify(privEvents));
      assert.equal(await rt.imageStatus(env.privateImage), null);
      assert.deepEqual(await containersOf(ns, 'private-e2e-pulls'), []);

      // with the node's docker config (<root-dir>/config.json) it runs; the node keyring is read
      // at start and cached for 5 minutes, as the kubelet's: restart nodelet to pick it up
      await n.stop();
      writeFileSync(join(n.rootDir, 'config.json'), JSON.stringify({ auths: { [env.registry]: { auth: Buffer.from(`${env.username}:${env.password}`).toString('base64') } } }));
      await n.start();
      progress('nodelet restarted with config.json');
      await eventually(async () => (await n.pod('private'))?.status?.phase === 'Running', 60_000, 'private: Running with the node credentials');
      assert.equal((await containersOf(ns, 'private-e2e-pulls')).filter((x) => x.state === 'CONTAINER_RUNNING').length, 1);
      assert.ok(await rt.imageStatus(env.privateImage), 'the private image was pulled');

      await n.stop();
      await removePodsInNamespace(rt, ns);
      await rt.removeImage(env.privateImage);
    });
  });
}
