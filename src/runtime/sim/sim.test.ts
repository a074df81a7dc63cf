// SimRuntime behaviours beyond the shared runtime contract (../contract/suite.ts): test hooks
// (faults, conditions, usage, exits), registry behaviour, image bookkeeping, sandbox teardown,
// log timestamps and container events, all on a fake clock.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { joinCriLog } from '../../kubelet/logs/crilog.js';
import { FakeClock } from '../../util/clock.js';
import { NotFoundError, RuntimeError } from '../errors.js';
import type { AuthConfig, ContainerConfig, ContainerEvent, ContainerStats, PodSandboxConfig } from '../types.js';
import { criLogTimestamp, SimRuntime, type SimRuntimeOptions } from './sim.js';
import { track } from '../../util/testing.js';

const BUSYBOX = 'localhost/busybox:latest';
const T0 = Date.UTC(2026, 0, 1);

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'nodelet-sim-test-'));
});
after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

let seq = 0;

function newRuntime(opts: Partial<SimRuntimeOptions> = {}): { clock: FakeClock; rt: SimRuntime } {
  const clock = new FakeClock(T0);
  const rt = new SimRuntime({ clock, images: [{ ref: BUSYBOX, defaultCommand: ['sh'] }], ...opts });
  return { clock, rt };
}

function sandboxConfig(name: string): PodSandboxConfig {
  const n = ++seq;
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${n}`, attempt: 0 },
    hostname: name,
    logDirectory: join(root, `default_${name}_${n}`),
    labels: { app: name },
  };
}

function containerConfig(name: string, command: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image: BUSYBOX }, command, logPath: `${name}/0.log`, ...extra };
}

async function runSandbox(rt: SimRuntime, name: string): Promise<{ id: string; config: PodSandboxConfig }> {
  const config = sandboxConfig(name);
  return { id: await rt.runPodSandbox(config), config };
}

async function runContainer(
  rt: SimRuntime,
  sb: { id: string; config: PodSandboxConfig },
  name: string,
  command: string[],
  extra: Partial<ContainerConfig> = {},
): Promise<string> {
  const id = await rt.createContainer(sb.id, containerConfig(name, command, extra), sb.config);
  await rt.startContainer(id);
  return id;
}


const cpu = (s: ContainerStats): number => s.cpu?.usageCoreNanoSeconds?.value ?? -1;
const ms2ns = (ms: number): number => ms * 1e6;

// ------------------------------------------------------------------ faults and conditions

describe('SimRuntime: injectFault', () => {
  it('an error fault fails the next call once, then calls succeed', async () => {
    const { rt } = newRuntime();
    const boom = new RuntimeError('Unavailable', 'Version', 'connection refused');
    rt.injectFault('Version', { error: () => boom });
    await assert.rejects(rt.version(), (e) => e === boom);
    assert.equal((await rt.version()).runtimeApiVersion, 'v1');
    assert.equal((await rt.version()).runtimeApiVersion, 'v1');
    assert.equal(rt.calls.get('Version'), 3, 'failed calls are counted too');
  });

  it('times: n fails n calls; faults queue in order; other methods are untouched', async () => {
    const { rt } = newRuntime();
    rt.injectFault('ListImages', { error: () => new Error('first'), times: 2 });
    rt.injectFault('ListImages', { error: () => new Error('second') });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      results.push(
        await rt.listImages().then(
          (imgs) => `ok:${imgs.length}`,
          (e: Error) => e.message,
        ),
      );
      // another method meanwhile is not affected
      assert.equal((await rt.status()).status.conditions.length, 2);
    }
    assert.deepEqual(results, ['first', 'first', 'second', 'ok:1', 'ok:1']);
  });

  it('clearFaults drops pending faults', async () => {
    const { rt } = newRuntime();
    rt.injectFault('Status', { error: () => new Error('x'), times: 10 });
    rt.clearFaults();
    await rt.status();
  });

  const latency: { name: string; method: 'Status' | 'ListImages'; latencyMs: number; error?: string }[] = [
    { name: 'latency only', method: 'Status', latencyMs: 500 },
    { name: 'latency then error', method: 'ListImages', latencyMs: 2000, error: 'slow failure' },
  ];
  for (const tc of latency) {
    it(`latencyMs delays on the fake clock (${tc.name})`, async () => {
      const { clock, rt } = newRuntime();
      rt.injectFault(tc.method, tc.error ? { latencyMs: tc.latencyMs, error: () => new Error(tc.error) } : { latencyMs: tc.latencyMs });
      const call = (): Promise<unknown> => (tc.method === 'Status' ? rt.status() : rt.listImages());
      const s = track(call());
      await clock.advance(tc.latencyMs - 1);
      assert.equal(s.settled, false, 'still waiting');
      await clock.advance(1);
      assert.equal(s.settled, true, 'settled after the latency');
      if (tc.error) assert.equal((s.error as Error).message, tc.error);
      else assert.equal(s.error, undefined);
      // the fault was used up: the next call is immediate
      const next = track(call());
      await clock.advance(0);
      assert.equal(next.settled, true);
      assert.equal(next.error, undefined);
    });
  }
});

describe('SimRuntime: conditions and config', () => {
  it('setCondition shows in status()', async () => {
    const { rt } = newRuntime();
    const cases: { type: 'RuntimeReady' | 'NetworkReady'; status: boolean; reason?: string; message?: string; want: Record<string, [boolean, string, string]> }[] = [
      { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'cni config uninitialized', want: { RuntimeReady: [true, '', ''], NetworkReady: [false, 'NetworkPluginNotReady', 'cni config uninitialized'] } },
      { type: 'RuntimeReady', status: false, reason: 'Broken', want: { RuntimeReady: [false, 'Broken', ''], NetworkReady: [false, 'NetworkPluginNotReady', 'cni config uninitialized'] } },
      { type: 'NetworkReady', status: true, want: { RuntimeReady: [false, 'Broken', ''], NetworkReady: [true, '', ''] } },
      { type: 'RuntimeReady', status: true, want: { RuntimeReady: [true, '', ''], NetworkReady: [true, '', ''] } },
    ];
    for (const tc of cases) {
      rt.setCondition(tc.type, tc.status, tc.reason, tc.message);
      const conds = (await rt.status()).status.conditions;
      assert.deepEqual(
        Object.fromEntries(conds.map((c) => [c.type, [c.status, c.reason, c.message]])),
        tc.want,
        `after setting ${tc.type}=${tc.status}`,
      );
      assert.deepEqual(conds.map((c) => c.type), ['RuntimeReady', 'NetworkReady'], 'order is stable');
    }
  });

  it('updateRuntimeConfig records the pod CIDR', async () => {
    const { rt } = newRuntime();
    assert.equal(rt.currentPodCidr, '');
    await rt.updateRuntimeConfig('10.244.1.0/24');
    assert.equal(rt.currentPodCidr, '10.244.1.0/24');
  });
});

// ------------------------------------------------------------------ images

describe('SimRuntime: pulling', () => {
  it('a pull with pullDelayMs resolves only after the fake time passes', async () => {
    const { clock, rt } = newRuntime({ registry: [{ ref: '127.0.0.1:5000/slow:1', pullDelayMs: 3000, size: 5000 }] });
    const s = track(rt.pullImage('127.0.0.1:5000/slow:1'));
    await clock.advance(2999);
    assert.equal(s.settled, false);
    assert.equal(await rt.imageStatus('127.0.0.1:5000/slow:1'), null, 'not in the store while pulling');
    await clock.advance(1);
    assert.equal(s.settled, true);
    assert.equal(s.error, undefined);
    assert.match(String(s.value), /^sha256:[0-9a-f]{64}$/);
    const img = await rt.imageStatus('127.0.0.1:5000/slow:1');
    assert.equal(img?.id, s.value);
    assert.equal(img?.size, 5000);
  });

  it('a pull with pullError rejects (after the delay) with gRPC Unknown, and stores nothing', async () => {
    const { clock, rt } = newRuntime({ registry: [{ ref: '127.0.0.1:5000/broken:1', pullDelayMs: 100, pullError: 'unexpected EOF' }] });
    const s = track(rt.pullImage('127.0.0.1:5000/broken:1'));
    await clock.advance(99);
    assert.equal(s.settled, false);
    await clock.advance(1);
    assert.ok(s.error instanceof RuntimeError);
    assert.equal(s.error.code, 'Unknown');
    assert.match(s.error.message, /failed to pull and unpack image "127\.0\.0\.1:5000\/broken:1": unexpected EOF/);
    assert.equal(await rt.imageStatus('127.0.0.1:5000/broken:1'), null);
  });

  it('pulls by short name resolve to the normalized registry entry', async () => {
    const { rt } = newRuntime({ registry: [{ ref: 'docker.io/library/nginx:1.25' }] });
    const id = await rt.pullImage('nginx:1.25');
    const img = await rt.imageStatus('docker.io/library/nginx:1.25');
    assert.equal(img?.id, id);
    assert.deepEqual(img?.repoTags, ['docker.io/library/nginx:1.25']);
    assert.ok(img?.repoDigests[0]?.startsWith('docker.io/library/nginx@sha256:'));
    assert.equal((await rt.imageStatus(img!.repoDigests[0]!))?.id, id, 'found by repo digest');
    assert.equal((await rt.imageStatus(id))?.id, id, 'found by id');
    assert.equal((await rt.imageStatus(id.slice('sha256:'.length)))?.id, id, 'found by bare hex id');
  });

  it('an invalid reference is a gRPC Unknown error', async () => {
    const { rt } = newRuntime();
    await assert.rejects(rt.pullImage('Not/Valid'), (e) => e instanceof RuntimeError && e.code === 'Unknown' && /invalid reference format/.test(e.message));
  });

  describe('registry auth', () => {
    const ref = '127.0.0.1:5000/private:1';
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const cases: { name: string; auth?: AuthConfig; ok: boolean }[] = [
      { name: 'no credentials', ok: false },
      { name: 'empty auth config', auth: {}, ok: false },
      { name: 'wrong password', auth: { username: 'alice', password: 'nope' }, ok: false },
      { name: 'wrong username', auth: { username: 'bob', password: 's3cret' }, ok: false },
      { name: 'username only', auth: { username: 'alice' }, ok: false },
      { name: 'right username and password', auth: { username: 'alice', password: 's3cret' }, ok: true },
      { name: 'docker-config auth (base64 user:pass)', auth: { auth: b64('alice:s3cret') }, ok: true },
      { name: 'docker-config auth with a wrong password', auth: { auth: b64('alice:wrong') }, ok: false },
      { name: 'docker-config auth without a colon', auth: { auth: b64('alices3cret') }, ok: false },
      { name: 'docker-config auth wins over username/password', auth: { auth: b64('alice:s3cret'), username: 'x', password: 'y' }, ok: true },
      { name: 'server address does not matter', auth: { username: 'alice', password: 's3cret', serverAddress: '127.0.0.1:5000' }, ok: true },
    ];
    for (const tc of cases) {
      it(`${tc.name}: ${tc.ok ? 'accepted' : 'rejected with 401 Unauthorized'}`, async () => {
        const { rt } = newRuntime({ registry: [{ ref, auth: { username: 'alice', password: 's3cret' } }] });
        const p = rt.pullImage(ref, tc.auth);
        if (tc.ok) {
          assert.match(await p, /^sha256:/);
          assert.ok(await rt.imageStatus(ref));
        } else {
          await assert.rejects(p, (e) => e instanceof RuntimeError && e.code === 'Unknown' && e.message.includes('401 Unauthorized') && e.message.includes(ref));
          assert.equal(await rt.imageStatus(ref), null);
        }
      });
    }

    it('an image without auth ignores credentials', async () => {
      const { rt } = newRuntime({ registry: [{ ref: '127.0.0.1:5000/public:1' }] });
      assert.match(await rt.pullImage('127.0.0.1:5000/public:1', { username: 'any', password: 'thing' }), /^sha256:/);
    });

    it(
      'docker-config auth with a ":" in the password',
      async () => {
        const { rt } = newRuntime({ registry: [{ ref, auth: { username: 'alice', password: 'pa:ss' } }] });
        assert.match(await rt.pullImage(ref, { auth: b64('alice:pa:ss') }), /^sha256:/);
      },
    );
  });
});

describe('SimRuntime: image store', () => {
  it('removeImage refuses an image used by a container, until the container is removed', async () => {
    const { rt } = newRuntime();
    const sb = await runSandbox(rt, 'img-in-use');
    const cid = await rt.createContainer(sb.id, containerConfig('c', ['sleep', '10']), sb.config); // created, not started
    const img = await rt.imageStatus(BUSYBOX);
    assert.ok(img);
    for (const name of [BUSYBOX, img.id]) {
      await assert.rejects(rt.removeImage(name), (e) => e instanceof RuntimeError && e.message.includes(`image is in use by container ${cid}`));
    }
    assert.ok(await rt.imageStatus(BUSYBOX), 'still there');
    await rt.startContainer(cid);
    await rt.stopContainer(cid, 0);
    await assert.rejects(rt.removeImage(BUSYBOX), /in use/, 'an exited container still uses its image');
    await rt.removeContainer(cid);
    await rt.removeImage(BUSYBOX);
    assert.equal(await rt.imageStatus(BUSYBOX), null);
    assert.deepEqual(await rt.listImages(), []);
  });

  it('a tag re-pointed to a new image moves: the old image loses the tag', async () => {
    const { rt } = newRuntime({
      images: [],
      registry: [
        { ref: '127.0.0.1:5000/app:1', size: 1000 },
        { ref: '127.0.0.1:5000/app:stable', size: 1000 },
      ],
    });
    const old = await rt.pullImage('127.0.0.1:5000/app:1');
    assert.equal(await rt.pullImage('127.0.0.1:5000/app:stable'), old, 'same content: same image');
    assert.deepEqual((await rt.imageStatus(old))?.repoTags, ['127.0.0.1:5000/app:1', '127.0.0.1:5000/app:stable']);

    // the registry now serves new content under app:1
    rt.addRegistryImage({ ref: '127.0.0.1:5000/app:1', size: 2000 });
    const fresh = await rt.pullImage('127.0.0.1:5000/app:1');
    assert.notEqual(fresh, old);
    assert.equal((await rt.imageStatus('127.0.0.1:5000/app:1'))?.id, fresh);
    assert.equal((await rt.imageStatus('127.0.0.1:5000/app:stable'))?.id, old, 'the other tag stays');
    const byId = new Map((await rt.listImages()).map((i) => [i.id, i]));
    assert.deepEqual(byId.get(fresh)?.repoTags, ['127.0.0.1:5000/app:1']);
    assert.deepEqual(byId.get(old)?.repoTags, ['127.0.0.1:5000/app:stable']);
    assert.equal(byId.get(fresh)?.size, 2000);

    // moving the last tag away leaves the old image untagged but present
    rt.addRegistryImage({ ref: '127.0.0.1:5000/app:stable', size: 2000 });
    await rt.pullImage('127.0.0.1:5000/app:stable');
    const after2 = new Map((await rt.listImages()).map((i) => [i.id, i]));
    assert.deepEqual(after2.get(old)?.repoTags, []);
    assert.deepEqual(after2.get(fresh)?.repoTags, ['127.0.0.1:5000/app:1', '127.0.0.1:5000/app:stable']);
    assert.equal((await rt.imageFsInfo()).imageFilesystems[0]?.usedBytes?.value, 3000);
  });

  it('filtered listImages and imageFsInfo', async () => {
    const { rt } = newRuntime({ images: [{ ref: BUSYBOX, size: 100 }, { ref: 'localhost/pause:3.9', size: 50 }], imageFsMountpoint: '/data/images' });
    assert.equal((await rt.listImages()).length, 2);
    assert.deepEqual((await rt.listImages({ image: 'localhost/pause:3.9' })).map((i) => i.repoTags), [['localhost/pause:3.9']]);
    assert.deepEqual(await rt.listImages({ image: 'localhost/none:1' }), []);
    const fs = (await rt.imageFsInfo()).imageFilesystems[0]!;
    assert.equal(fs.usedBytes?.value, 150);
    assert.equal(fs.fsId?.mountpoint, '/data/images');
    assert.equal(fs.timestamp, ms2ns(T0));
  });
});

// ------------------------------------------------------------------ containers

describe('SimRuntime: stats', () => {
  it('usageCoreNanoSeconds grows with fake time at the set cpuNanoCores', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'stats');
    const a = await runContainer(rt, sb, 'a', ['sleep', '3600']);
    await clock.advance(10_000);
    let s = await rt.containerStats(a);
    assert.equal(cpu(s), 10 * 1_000_000, 'default 1m cores for 10 s');
    assert.equal(s.cpu?.usageNanoCores?.value, 1_000_000);
    assert.equal(s.cpu?.timestamp, ms2ns(clock.now()));

    const b = await runContainer(rt, sb, 'b', ['sleep', '3600']);
    rt.setUsage(b, { cpuNanoCores: 250_000_000, memoryBytes: 64 << 20, writableBytes: 8192 });
    const steps = [1000, 3000, 6000];
    let elapsed = 0;
    for (const ms of steps) {
      await clock.advance(ms);
      elapsed += ms;
      s = await rt.containerStats(b);
      assert.equal(cpu(s), (elapsed / 1000) * 250_000_000, `after ${elapsed} ms`);
    }
    assert.equal(s.cpu?.usageNanoCores?.value, 250_000_000);
    assert.equal(s.memory?.workingSetBytes?.value, 64 << 20);
    assert.equal(s.memory?.usageBytes?.value, 64 << 20);
    assert.equal(s.writableLayer?.usedBytes?.value, 8192);

    const pod = await rt.podSandboxStats(sb.id);
    assert.equal(pod.linux?.cpu?.usageCoreNanoSeconds?.value, 20 * 1_000_000 + 10 * 250_000_000);
    assert.equal(pod.linux?.cpu?.usageNanoCores?.value, 251_000_000);
    assert.equal(pod.linux?.memory?.workingSetBytes?.value, (1 << 20) + (64 << 20));
    assert.deepEqual(pod.linux?.containers?.map((c) => c.attributes.id).sort(), [a, b].sort());
    assert.deepEqual((await rt.listContainerStats({ id: b })).map((x) => x.attributes.id), [b]);
  });

  it('an exited container’s CPU time stops at its exit; rates and memory drop to 0', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'stats-exit');
    const id = await runContainer(rt, sb, 'c', ['sh', '-c', 'sleep 5']);
    rt.setUsage(id, { cpuNanoCores: 1e9 });
    await clock.advance(5000);
    assert.equal((await rt.containerStatus(id)).status.state, 'CONTAINER_EXITED');
    await clock.advance(60_000);
    const s = await rt.containerStats(id);
    assert.equal(cpu(s), 5e9);
    assert.equal(s.cpu?.usageNanoCores?.value, 0);
    assert.equal(s.memory?.workingSetBytes?.value, 0);
  });

  it('a created, never started container has no CPU time', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'stats-created');
    const id = await rt.createContainer(sb.id, containerConfig('c', ['sleep', '1']), sb.config);
    await clock.advance(10_000);
    assert.equal(cpu(await rt.containerStats(id)), 0);
  });

  it(
    'usageCoreNanoSeconds never decreases when the rate is lowered',
    async () => {
      const { clock, rt } = newRuntime();
      const sb = await runSandbox(rt, 'stats-mono');
      const id = await runContainer(rt, sb, 'c', ['sleep', '3600']);
      rt.setUsage(id, { cpuNanoCores: 1e9 });
      await clock.advance(10_000);
      const before = cpu(await rt.containerStats(id));
      assert.equal(before, 1e10);
      rt.setUsage(id, { cpuNanoCores: 1e8 });
      const same = cpu(await rt.containerStats(id));
      assert.ok(same >= before, `cumulative CPU went from ${before} to ${same}`);
      await clock.advance(10_000);
      assert.equal(cpu(await rt.containerStats(id)), 1e10 + 1e9);
      rt.setUsage(id, { cpuNanoCores: 2e9 });
      await clock.advance(1000);
      assert.equal(cpu(await rt.containerStats(id)), 1e10 + 1e9 + 2e9, 'raising the rate counts from now on');
    },
  );

  it('setUsage on an exited container does not change its CPU time', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'stats-exited-setusage');
    const id = await runContainer(rt, sb, 'c', ['sleep', '2']);
    rt.setUsage(id, { cpuNanoCores: 1e9 });
    await clock.advance(3000);
    assert.equal(cpu(await rt.containerStats(id)), 2e9);
    rt.setUsage(id, { cpuNanoCores: 5e8 });
    await clock.advance(3000);
    assert.equal(cpu(await rt.containerStats(id)), 2e9);
  });
});

describe('SimRuntime: sandboxes own their containers', () => {
  it('stopPodSandbox kills the pod’s running containers (137) and leaves exited ones alone', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'stop-pod');
    const other = await runSandbox(rt, 'other-pod');
    const sleeper = await runContainer(rt, sb, 'sleeper', ['sleep', '3600']);
    const looper = await runContainer(rt, sb, 'looper', ['sh', '-c', "trap '' TERM; while true; do sleep 1; done"]);
    const done = await runContainer(rt, sb, 'done', ['true']);
    const bystander = await runContainer(rt, other, 'bystander', ['sleep', '3600']);
    await clock.advance(2000);
    assert.equal((await rt.containerStatus(done)).status.reason, 'Completed');

    await rt.stopPodSandbox(sb.id);
    await clock.advance(0);
    for (const id of [sleeper, looper]) {
      const s = (await rt.containerStatus(id)).status;
      assert.equal(s.state, 'CONTAINER_EXITED');
      assert.equal(s.exitCode, 137);
      assert.equal(s.reason, 'Error');
      assert.equal(s.finishedAt, ms2ns(T0 + 2000), 'killed at once, even when TERM is ignored');
    }
    const d = (await rt.containerStatus(done)).status;
    assert.equal(d.exitCode, 0);
    assert.equal(d.reason, 'Completed');
    assert.equal(d.finishedAt, ms2ns(T0));
    assert.equal((await rt.containerStatus(bystander)).status.state, 'CONTAINER_RUNNING', 'other pods keep running');
    assert.equal((await rt.podSandboxStatus(sb.id)).status.state, 'SANDBOX_NOTREADY');

    // a stopped sandbox takes no new containers
    await assert.rejects(rt.createContainer(sb.id, containerConfig('late', ['true']), sb.config), /is not running/);
  });

  it('a created container cannot start once its sandbox is stopped', async () => {
    const { rt } = newRuntime();
    const sb = await runSandbox(rt, 'stop-before-start');
    const id = await rt.createContainer(sb.id, containerConfig('c', ['true']), sb.config);
    await rt.stopPodSandbox(sb.id);
    await assert.rejects(rt.startContainer(id), (e) => e instanceof RuntimeError && /is not running/.test(e.message));
    assert.equal((await rt.containerStatus(id)).status.state, 'CONTAINER_CREATED');
  });

  it('removePodSandbox removes its containers (and only its own)', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'rm-pod');
    const other = await runSandbox(rt, 'keep-pod');
    const running = await runContainer(rt, sb, 'running', ['sleep', '3600']);
    const created = await rt.createContainer(sb.id, containerConfig('created', ['true']), sb.config);
    const kept = await runContainer(rt, other, 'kept', ['pause']);
    await rt.removePodSandbox(sb.id); // without stopping first
    await clock.advance(0);
    for (const id of [running, created]) await assert.rejects(rt.containerStatus(id), NotFoundError);
    assert.deepEqual((await rt.listContainers()).map((c) => c.id), [kept]);
    assert.deepEqual(await rt.listContainers({ podSandboxId: sb.id }), []);
    assert.deepEqual((await rt.listPodSandbox()).map((s) => s.id), [other.id]);
    assert.deepEqual((await rt.listContainerStats()).map((s) => s.attributes.id), [kept]);
    assert.equal(clock.pendingTimers(), 0, 'the removed container’s sleep was killed');
    assert.equal((await rt.containerStatus(kept)).status.state, 'CONTAINER_RUNNING');
  });
});

describe('SimRuntime: containers', () => {
  const exits: { code: number; oom: boolean; reason: string }[] = [
    { code: 0, oom: false, reason: 'Completed' },
    { code: 1, oom: false, reason: 'Error' },
    { code: 143, oom: false, reason: 'Error' },
    { code: 137, oom: true, reason: 'OOMKilled' },
  ];
  for (const tc of exits) {
    it(`exitContainer(id, ${tc.code}, ${tc.oom}) gives reason ${tc.reason}`, async () => {
      const { clock, rt } = newRuntime();
      const sb = await runSandbox(rt, 'exit');
      const id = await runContainer(rt, sb, 'c', ['sh', '-c', 'while true; do echo tick; sleep 1; done']);
      await clock.advance(3000);
      rt.exitContainer(id, tc.code, tc.oom);
      const s = (await rt.containerStatus(id)).status;
      assert.equal(s.state, 'CONTAINER_EXITED');
      assert.equal(s.exitCode, tc.code);
      assert.equal(s.reason, tc.reason);
      assert.equal(s.finishedAt, ms2ns(T0 + 3000));
      const log = readFileSync(s.logPath, 'utf8');
      await clock.advance(10_000);
      assert.equal(readFileSync(s.logPath, 'utf8'), log, 'the process was stopped: no more output');
      // a second exit changes nothing
      rt.exitContainer(id, 99, false);
      assert.equal((await rt.containerStatus(id)).status.exitCode, tc.code);
    });
  }

  it('exitContainer of an unknown container is NotFound; of a created one does nothing', async () => {
    const { rt } = newRuntime();
    assert.throws(() => rt.exitContainer('0'.repeat(64), 1), NotFoundError);
    const sb = await runSandbox(rt, 'exit-created');
    const id = await rt.createContainer(sb.id, containerConfig('c', ['true']), sb.config);
    rt.exitContainer(id, 1);
    assert.equal((await rt.containerStatus(id)).status.state, 'CONTAINER_CREATED');
  });

  it('a second container with the same name and attempt in a sandbox is refused', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'names');
    const other = await runSandbox(rt, 'names-other');
    const first = await runContainer(rt, sb, 'app', ['true']);
    await clock.advance(0);
    assert.equal((await rt.containerStatus(first)).status.state, 'CONTAINER_EXITED');
    await assert.rejects(
      rt.createContainer(sb.id, containerConfig('app', ['true']), sb.config),
      (e) => e instanceof RuntimeError && e.message.includes('failed to reserve container name "app_0"') && e.message.includes(first),
      'even after the first exited',
    );
    const retry = await rt.createContainer(sb.id, containerConfig('app', ['true'], { metadata: { name: 'app', attempt: 1 } }), sb.config);
    await rt.createContainer(other.id, containerConfig('app', ['true']), other.config); // other sandbox: fine
    await rt.removeContainer(first);
    const again = await rt.createContainer(sb.id, containerConfig('app', ['true']), sb.config); // name freed
    assert.notEqual(again, first);
    assert.notEqual(again, retry);
  });

  it('createContainer with an unknown image or sandbox is NotFound', async () => {
    const { rt } = newRuntime();
    const sb = await runSandbox(rt, 'nf');
    await assert.rejects(rt.createContainer(sb.id, containerConfig('c', ['true'], { image: { image: 'localhost/none:1' } }), sb.config), NotFoundError);
    await assert.rejects(rt.createContainer('f'.repeat(64), containerConfig('c', ['true']), sb.config), NotFoundError);
  });

  it('containers are found by an unambiguous id prefix of 6+ characters', async () => {
    const { rt } = newRuntime();
    const sb = await runSandbox(rt, 'prefix');
    const id = await rt.createContainer(sb.id, containerConfig('c', ['true']), sb.config);
    assert.equal((await rt.containerStatus(id.slice(0, 12))).status.id, id);
    assert.equal((await rt.podSandboxStatus(sb.id.slice(0, 6))).status.id, sb.id);
    await assert.rejects(rt.containerStatus(id.slice(0, 5)), NotFoundError);
  });

  it(
    'a container whose sh -c script has a syntax error exits (sh exits 2) instead of staying running',
    async () => {
      const { clock, rt } = newRuntime();
      const sb = await runSandbox(rt, 'syntax');
      const id = await rt.createContainer(sb.id, containerConfig('c', ['sh', '-c', "echo 'unterminated"]), sb.config);
      await rt.startContainer(id);
      await clock.advance(1000);
      const s = (await rt.containerStatus(id)).status;
      assert.equal(s.state, 'CONTAINER_EXITED');
      assert.equal(s.exitCode, 2);
      assert.equal(s.reason, 'Error');
      assert.equal(s.finishedAt, ms2ns(T0), 'exits at once');
      assert.deepEqual(
        joinCriLog(readFileSync(s.logPath, 'utf8')).map((l) => [l.stream, l.text]),
        [['stderr', 'sh: unterminated quote']],
      );
      await rt.stopContainer(id, 10); // a no-op on an exited container
    },
  );
});

// ------------------------------------------------------------------ logs

describe('SimRuntime: container logs', () => {
  const stamps: [number, string][] = [
    [T0, '2026-01-01T00:00:00.000000000Z'],
    [Date.UTC(2026, 4, 17, 13, 5, 9, 42), '2026-05-17T13:05:09.042000000Z'],
    [Date.UTC(1999, 11, 31, 23, 59, 59, 999), '1999-12-31T23:59:59.999000000Z'],
  ];
  for (const [ms, text] of stamps) {
    it(`criLogTimestamp(${ms}) is ${text}`, () => {
      assert.equal(criLogTimestamp(ms), text);
    });
  }

  it('a container’s log file gets CRI-format lines with the clock’s timestamps', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'logs');
    await clock.advance(1234);
    const start = clock.now();
    const id = await runContainer(rt, sb, 'app', [
      'sh',
      '-c',
      "echo one; printf 'a\\nb\\n'; sleep 2; echo two >&2; sleep 1; echo -n part; sleep 1; echo ial; echo -n tail",
    ]);
    await clock.advance(5000);
    const s = (await rt.containerStatus(id)).status;
    assert.equal(s.state, 'CONTAINER_EXITED');
    assert.equal(s.logPath, join(sb.config.logDirectory!, 'app/0.log'));
    const ts = (dt: number): string => criLogTimestamp(start + dt);
    assert.equal(
      readFileSync(s.logPath, 'utf8'),
      [
        `${ts(0)} stdout F one`,
        `${ts(0)} stdout F a`,
        `${ts(0)} stdout F b`,
        `${ts(2000)} stderr F two`,
        `${ts(3000)} stdout P part`,
        `${ts(4000)} stdout F ial`,
        `${ts(4000)} stdout P tail`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(joinCriLog(readFileSync(s.logPath, 'utf8')), [
      { timestamp: ts(0), stream: 'stdout', text: 'one' },
      { timestamp: ts(0), stream: 'stdout', text: 'a' },
      { timestamp: ts(0), stream: 'stdout', text: 'b' },
      { timestamp: ts(2000), stream: 'stderr', text: 'two' },
      { timestamp: ts(3000), stream: 'stdout', text: 'partial' },
      { timestamp: ts(4000), stream: 'stdout', text: 'tail' },
    ]);
  });

  it('the log file exists (empty) from creation; no logPath means no file', async () => {
    const { rt } = newRuntime();
    const sb = await runSandbox(rt, 'logs-create');
    const id = await rt.createContainer(sb.id, containerConfig('quiet', ['sleep', '1']), sb.config);
    const path = (await rt.containerStatus(id)).status.logPath;
    assert.equal(readFileSync(path, 'utf8'), '');
    const bare = await rt.createContainer(sb.id, { metadata: { name: 'nolog', attempt: 0 }, image: { image: BUSYBOX }, command: ['echo', 'x'] }, sb.config);
    assert.equal((await rt.containerStatus(bare)).status.logPath, '');
    await rt.startContainer(bare); // writes nowhere, and does not fail
    assert.ok(!existsSync(join(sb.config.logDirectory!, 'nolog')));
  });

  it('after rotation and ReopenContainerLog, new lines go to a fresh file', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'logs-rotate');
    const id = await runContainer(rt, sb, 'app', ['sh', '-c', 'while true; do echo x; sleep 1; done']);
    const path = (await rt.containerStatus(id)).status.logPath;
    await clock.advance(1500);
    rt.rotateLogForTest(id, `${path}.1`);
    await rt.reopenContainerLog(id);
    await clock.advance(1000);
    assert.equal(readFileSync(`${path}.1`, 'utf8').split('\n').filter(Boolean).length, 2);
    assert.equal(readFileSync(path, 'utf8'), `${criLogTimestamp(T0 + 2000)} stdout F x\n`);
    rt.close();
    await clock.advance(0);
    assert.equal((await rt.containerStatus(id)).status.exitCode, 137, 'close() kills running containers');
  });
});

describe('SimRuntime container events', () => {
  it('streams created/started/stopped/deleted for containers and sandboxes, after the change, in order', async () => {
    const { clock, rt } = newRuntime();
    const raw: ContainerEvent[] = [];
    const ready: string[] = [];
    const w = rt.watchContainerEvents({ onEvent: (e) => raw.push(e), onReady: (s) => ready.push(s) });
    await clock.advance(0);
    assert.deepEqual(ready, ['cri']);
    const sb = await runSandbox(rt, 'events');
    const id = await runContainer(rt, sb, 'app', ['sh', '-c', 'sleep 2; exit 3']);
    assert.equal((await rt.containerStatus(id)).status.state, 'CONTAINER_RUNNING');
    await clock.advance(2000);
    await rt.execSync(id, ['true'], 1).catch(() => undefined); // an exec is no container event
    await rt.removeContainer(id);
    await rt.stopPodSandbox(sb.id);
    await rt.removePodSandbox(sb.id);
    await clock.advance(0);
    const got = raw.map((e) => `${e.type} ${e.containerId === sb.id ? 'sandbox' : e.containerId === id ? 'app' : '?'} ${e.podSandboxId === sb.id} ${e.createdAt}`);
    const ns = (ms: number): number => (T0 + ms) * 1e6;
    assert.deepEqual(got, [
      `created sandbox true ${ns(0)}`,
      `started sandbox true ${ns(0)}`,
      `created app true ${ns(0)}`,
      `started app true ${ns(0)}`,
      `stopped app true ${ns(2000)}`,
      `deleted app true ${ns(2000)}`,
      `stopped sandbox true ${ns(2000)}`,
      `deleted sandbox true ${ns(2000)}`,
    ]);
    w.stop();
  });

  it('delivers the event only once the state it reports can be read', async () => {
    const { clock, rt } = newRuntime();
    const sb = await runSandbox(rt, 'ev-order');
    const id = await runContainer(rt, sb, 'app', ['sleep', '3600']);
    const states: string[] = [];
    rt.watchContainerEvents({ onEvent: (e) => void rt.listContainers({ id: e.containerId }).then((l) => states.push(`${e.type}:${l[0]?.state}`)) });
    await clock.advance(0);
    rt.exitContainer(id, 1);
    await clock.advance(0);
    assert.deepEqual(states, ['stopped:CONTAINER_EXITED']);
  });

  it('stop(), close() and breakContainerEvents() end watches; a broken one hears onError once', async () => {
    const { clock, rt } = newRuntime();
    const errors: Error[] = [];
    const events: string[] = [];
    const a = rt.watchContainerEvents({ onEvent: (e) => events.push(`a ${e.type}`), onError: (e) => errors.push(e) });
    rt.watchContainerEvents({ onEvent: (e) => events.push(`b ${e.type}`), onError: (e) => errors.push(e) });
    assert.equal(rt.containerEventWatches(), 2);
    a.stop();
    a.stop();
    assert.equal(rt.containerEventWatches(), 1);
    rt.breakContainerEvents();
    await clock.advance(0);
    assert.equal(errors.length, 1, 'only the live watch hears it');
    assert.equal(rt.containerEventWatches(), 0);
    await runSandbox(rt, 'ev-after');
    await clock.advance(0);
    assert.equal(events.join(), '', 'nothing after the end');
    const c = rt.watchContainerEvents({ onEvent: (e) => events.push(`c ${e.type}`) });
    rt.close();
    await runSandbox(rt, 'ev-closed');
    await clock.advance(0);
    assert.deepEqual(events, []);
    c.stop();
  });

  it('containerEvents: false answers Unimplemented, as containerd 1.6 does for GetContainerEvents', async () => {
    const { clock, rt } = newRuntime({ containerEvents: false });
    const errors: Error[] = [];
    let ready = false;
    rt.watchContainerEvents({ onEvent: () => assert.fail('no events'), onError: (e) => errors.push(e), onReady: () => (ready = true) });
    await clock.advance(0);
    assert.equal(ready, false);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof RuntimeError && errors[0].code === 'Unimplemented', String(errors[0]));
  });
});
