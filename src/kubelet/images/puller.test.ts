// Tests for the image manager on the simulated runtime with a fake clock: pull policies, the pull
// backoff, serialized / parallel pulls, registry QPS, shared pulls, pull secrets and the node's
// docker config, events and progress log lines as the kubelet words them.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { track } from '../../util/testing.js';
import { SimRuntime, type SimRegistryImage } from '../../runtime/sim/index.js';
import type { AuthConfig, Runtime } from '../../runtime/index.js';
import { LocalEventStore, type ObjectRef } from '../events/index.js';
import { aggregateMessage, ImageError, ImagePuller, type ImagePullerOptions } from './puller.js';

const REG = '127.0.0.1:5000';
const APP = `${REG}/app:1`;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function makePod(name: string, containers: V1Container[], pullSecrets: string[] = []): V1Pod {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { containers, ...(pullSecrets.length ? { imagePullSecrets: pullSecrets.map((n) => ({ name: n })) } : {}) },
  };
}

function refOf(pod: V1Pod, c: V1Container): ObjectRef {
  return { kind: 'Pod', name: pod.metadata!.name!, namespace: 'default', uid: pod.metadata!.uid!, fieldPath: `spec.containers{${c.name}}` };
}

function dockerSecret(name: string, auths: Record<string, { username: string; password: string }>): V1Secret {
  const doc = { auths: Object.fromEntries(Object.entries(auths).map(([k, v]) => [k, { auth: b64(`${v.username}:${v.password}`) }])) };
  return { metadata: { name, namespace: 'default' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify(doc)) } };
}

describe('ImagePuller', () => {
  let clock: FakeClock;
  let sim: SimRuntime;
  let events: LocalEventStore;
  let logger: MemoryLogger;
  /** Every PullImage the runtime saw, with its credentials. */
  let pulls: { image: string; auth: AuthConfig | undefined; at: number }[];
  let runtime: Runtime;
  let t0: number;

  const setup = (opts: { present?: SimRegistryImage[]; registry?: SimRegistryImage[] } = {}): void => {
    clock = new FakeClock();
    t0 = clock.now();
    sim = new SimRuntime({ clock, images: opts.present ?? [], registry: opts.registry ?? [{ ref: APP, size: 2_000_000 }] });
    events = new LocalEventStore(clock, new MemoryLogger());
    logger = new MemoryLogger();
    pulls = [];
    runtime = new Proxy(sim, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        if (prop === 'pullImage') {
          return (image: string, auth?: AuthConfig, sc?: unknown) => {
            pulls.push({ image, auth, at: clock.now() - t0 });
            return target.pullImage(image, auth, sc as undefined);
          };
        }
        return (v as (...a: unknown[]) => unknown).bind(target);
      },
    });
  };
  const newPuller = (opts: Partial<ImagePullerOptions> = {}): ImagePuller => new ImagePuller({ runtime, clock, recorder: events, logger, ...opts });

  /** 'ok' or the ImageError reason (anything else is rethrown). */
  async function outcome(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return 'ok';
    } catch (e) {
      if (e instanceof ImageError) return e.reason;
      throw e;
    }
  }
  /** The ImageError a call fails with (fails the test if it succeeds or throws anything else). */
  async function failure(p: Promise<unknown>): Promise<ImageError> {
    const e = await p.then(
      () => assert.fail('expected an ImageError'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof ImageError, String(e));
    return e;
  }
  const ensure = (puller: ImagePuller, pod: V1Pod, c: V1Container = pod.spec!.containers[0]!): Promise<unknown> => puller.ensureImageExists(pod, c, refOf(pod, c));
  const eventsOf = (pod: V1Pod): string[] => events.list({ uid: pod.metadata!.uid! }).map((e) => `${e.type} ${e.reason}: ${e.message}`);

  beforeEach(() => setup());
  afterEach(() => sim.close());

  // ---------------------------------------------------------------- policies

  describe('pull policies', () => {
    const cases: [policy: string | undefined, present: boolean, result: string, pulled: number, event: string][] = [
      ['Always', true, 'ok', 1, `Normal Pulled: Successfully pulled image "${APP}" in 0s (0s including waiting). Image size: 2000000 bytes.`],
      ['Always', false, 'ok', 1, `Normal Pulled: Successfully pulled image "${APP}" in 0s (0s including waiting). Image size: 2000000 bytes.`],
      ['IfNotPresent', true, 'ok', 0, `Normal Pulled: Container image "${APP}" already present on machine`],
      ['IfNotPresent', false, 'ok', 1, `Normal Pulled: Successfully pulled image "${APP}" in 0s (0s including waiting). Image size: 2000000 bytes.`],
      ['Never', true, 'ok', 0, `Normal Pulled: Container image "${APP}" already present on machine`],
      ['Never', false, 'ErrImageNeverPull', 0, `Warning ErrImageNeverPull: Container image "${APP}" is not present with pull policy of Never`],
      [undefined, true, 'ok', 0, `Normal Pulled: Container image "${APP}" already present on machine`],
      [undefined, false, 'ok', 1, `Normal Pulled: Successfully pulled image "${APP}" in 0s (0s including waiting). Image size: 2000000 bytes.`],
    ];
    for (const [policy, present, result, pulled, event] of cases) {
      it(`${policy ?? 'unset'}, image ${present ? 'present' : 'absent'}: ${result}, ${pulled} pull(s)`, async () => {
        setup({ present: present ? [{ ref: APP, size: 2_000_000 }] : [] });
        const pod = makePod('p', [{ name: 'main', image: APP, ...(policy ? { imagePullPolicy: policy } : {}) }]);
        assert.equal(await outcome(ensure(newPuller(), pod)), result);
        assert.equal(pulls.length, pulled);
        assert.equal(eventsOf(pod).at(-1), event);
        if (pulled) assert.equal(eventsOf(pod).at(-2), `Normal Pulling: Pulling image "${APP}"`);
      });
    }

    it('returns the image ID and user, and pulls an untagged image as :latest while events keep the name as written', async () => {
      setup({ registry: [{ ref: 'busybox:latest', size: 1000 }] });
      const pod = makePod('p', [{ name: 'main', image: 'busybox' }]);
      const got = (await ensure(newPuller(), pod)) as { imageRef: string; user: { username: string } };
      assert.deepEqual(pulls.map((p) => p.image), ['busybox:latest']);
      assert.equal(got.imageRef, (await sim.imageStatus('docker.io/library/busybox:latest'))!.id);
      assert.deepEqual(got.user, { username: '' });
      assert.match(eventsOf(pod).at(-1)!, /^Normal Pulled: Successfully pulled image "busybox" in /);
    });

    it('a malformed reference: InvalidImageName with an InspectFailed warning, no runtime call', async () => {
      const pod = makePod('p', [{ name: 'main', image: 'Not/A:Valid:Ref' }]);
      const err = await failure(ensure(newPuller(), pod));
      assert.ok(err instanceof ImageError);
      assert.equal(err.reason, 'InvalidImageName');
      assert.match(err.message, /^Failed to apply default image tag "Not\/A:Valid:Ref": .*invalid reference format/);
      assert.match(eventsOf(pod)[0]!, /^Warning InspectFailed: Failed to apply default image tag/);
      assert.equal(sim.calls.get('ImageStatus') ?? 0, 0);
    });

    it('ImageStatus failing: ImageInspectError with an InspectFailed warning', async () => {
      sim.injectFault('ImageStatus', { error: () => new Error('connection reset') });
      const pod = makePod('p', [{ name: 'main', image: APP }]);
      const err = await failure(ensure(newPuller(), pod));
      assert.ok(err instanceof ImageError);
      assert.equal(err.reason, 'ImageInspectError');
      assert.deepEqual(eventsOf(pod), [`Warning InspectFailed: Failed to inspect image "${APP}": connection reset`]);
      assert.equal(pulls.length, 0);
    });
  });

  // ---------------------------------------------------------------- events and log

  it('Pulled reports the pull time, the time including waiting, and the image size', async () => {
    setup({ registry: [{ ref: APP, size: 2_345_678, pullDelayMs: 1234 }] });
    const pod = makePod('p', [{ name: 'main', image: APP }]);
    const r = track(ensure(newPuller(), pod));
    await clock.advance(1234);
    assert.equal(r.settled && r.error, undefined);
    assert.deepEqual(eventsOf(pod), [
      `Normal Pulling: Pulling image "${APP}"`,
      `Normal Pulled: Successfully pulled image "${APP}" in 1.234s (1.234s including waiting). Image size: 2345678 bytes.`,
    ]);
  });

  it('a pull in flight is logged every 10 s; a queued one says it is waiting; nothing once done', async () => {
    const slow = `${REG}/slow:1`;
    setup({ registry: [{ ref: slow, pullDelayMs: 25_000 }, { ref: APP, pullDelayMs: 1000 }] });
    const puller = newPuller(); // serialized: APP waits behind slow
    const a = track(ensure(puller, makePod('a', [{ name: 'main', image: slow }])));
    const b = track(ensure(puller, makePod('b', [{ name: 'main', image: APP }])));
    await clock.advance(30_000);
    assert.ok(a.settled && b.settled);
    await clock.advance(60_000);
    const progress = logger.records.filter((r) => r.msg === 'Image pull in progress').map((r) => r.fields);
    assert.deepEqual(progress, [
      { image: slow, elapsed: '10s' },
      { image: APP, elapsed: '10s', waiting: true },
      { image: slow, elapsed: '20s' },
      { image: APP, elapsed: '20s', waiting: true },
    ]);
    assert.equal(progress.length, 4, 'no progress lines once the pulls are done');
  });

  // ---------------------------------------------------------------- backoff

  describe('backoff', () => {
    const BROKEN = `${REG}/broken:1`;
    beforeEach(() => setup({ registry: [{ ref: BROKEN, pullError: 'dial tcp 127.0.0.1:5000: connect: connection refused' }] }));

    it('ErrImagePull, then ImagePullBackOff for 10 s, 20 s, 40 s ... up to 5 m, without calling the runtime', async () => {
      const puller = newPuller();
      const pod = makePod('p', [{ name: 'main', image: BROKEN }]);
      const err = await failure(ensure(puller, pod));
      assert.equal(err.reason, 'ErrImagePull');
      assert.equal(err.message, `Failed to pull image "${BROKEN}": PullImage: failed to pull and unpack image "${BROKEN}": dial tcp 127.0.0.1:5000: connect: connection refused`);
      assert.equal(eventsOf(pod).at(-1), `Warning Failed: ${err.message}`);
      for (const seconds of [10, 20, 40, 80, 160, 300, 300]) {
        await clock.advance(seconds * 1000 - 1);
        const before = pulls.length;
        const held = await failure(ensure(puller, pod));
        assert.equal(held.reason, 'ImagePullBackOff', `still backing off just before ${seconds} s`);
        assert.equal(held.message, `Back-off pulling image "${BROKEN}"`);
        assert.equal(eventsOf(pod).at(-1), `Normal BackOff: Back-off pulling image "${BROKEN}"`);
        assert.equal(pulls.length, before, 'no pull during the backoff');
        await clock.advance(1);
        assert.equal(await outcome(ensure(puller, pod)), 'ErrImagePull', `a new pull after ${seconds} s`);
        assert.equal(pulls.length, before + 1);
      }
    });

    it('is kept per pod: another pod pulls the same image at once', async () => {
      const puller = newPuller();
      assert.equal(await outcome(ensure(puller, makePod('a', [{ name: 'main', image: BROKEN }]))), 'ErrImagePull');
      assert.equal(await outcome(ensure(puller, makePod('a', [{ name: 'main', image: BROKEN }]))), 'ImagePullBackOff');
      assert.equal(await outcome(ensure(puller, makePod('b', [{ name: 'main', image: BROKEN }]))), 'ErrImagePull');
      assert.equal(pulls.length, 2);
    });

    it('after a success the pod is not held back; as upstream the backoff only starts over after 10 min without failure', async () => {
      const puller = newPuller();
      const pod = makePod('p', [{ name: 'main', image: BROKEN, imagePullPolicy: 'Always' }]);
      assert.equal(await outcome(ensure(puller, pod)), 'ErrImagePull'); // backoff 10 s
      await clock.advance(10_000);
      sim.addRegistryImage({ ref: BROKEN });
      assert.equal(await outcome(ensure(puller, pod)), 'ok');
      assert.equal(await outcome(ensure(puller, pod)), 'ok', 'no backoff after the success');
      sim.addRegistryImage({ ref: BROKEN, pullError: 'registry down' });
      assert.equal(await outcome(ensure(puller, pod)), 'ErrImagePull'); // within 10 min of the last failure: 20 s
      await clock.advance(19_999);
      assert.equal(await outcome(ensure(puller, pod)), 'ImagePullBackOff');
      await clock.advance(1);
      assert.equal(await outcome(ensure(puller, pod)), 'ErrImagePull'); // 40 s now
      await clock.advance(10 * 60_000 + 1);
      assert.equal(await outcome(ensure(puller, pod)), 'ErrImagePull'); // quiet for 10 min: back to 10 s
      await clock.advance(9_999);
      assert.equal(await outcome(ensure(puller, pod)), 'ImagePullBackOff');
      await clock.advance(1);
      assert.equal(await outcome(ensure(puller, pod)), 'ErrImagePull');
    });
  });

  // ---------------------------------------------------------------- concurrency

  describe('serialized and parallel pulls', () => {
    const images = [1, 2, 3].map((i) => `${REG}/img${i}:1`);
    beforeEach(() => setup({ registry: images.map((ref) => ({ ref, pullDelayMs: 1000 })) }));

    /** Pulls the 3 images from 3 pods at once; returns when each finished (ms). */
    async function pullAll(puller: ImagePuller): Promise<number[]> {
      const done: number[] = [];
      const all = images.map((image, i) =>
        ensure(puller, makePod(`p${i}`, [{ name: 'main', image }])).then(() => {
          done[i] = clock.now() - t0;
        }),
      );
      const t = track(Promise.all(all));
      for (let s = 0; s < 5 && !t.settled; s++) await clock.advance(1000);
      assert.ok(t.settled && t.error === undefined);
      return done;
    }

    it('serializeImagePulls (the default): 3 images of 1 s take 3 s, one after another', async () => {
      assert.deepEqual(await pullAll(newPuller()), [1000, 2000, 3000]);
      assert.deepEqual(pulls.map((p) => p.at), [0, 1000, 2000]);
      assert.equal(eventsOf(makePod('p2', [])).at(-1), `Normal Pulled: Successfully pulled image "${images[2]}" in 1s (3s including waiting). Image size: 1200000 bytes.`);
    });

    it('parallel without a cap: 1 s', async () => {
      assert.deepEqual(await pullAll(newPuller({ serializeImagePulls: false })), [1000, 1000, 1000]);
    });

    it('parallel with maxParallelImagePulls 2: 2 s', async () => {
      assert.deepEqual(await pullAll(newPuller({ serializeImagePulls: false, maxParallelImagePulls: 2 })), [1000, 1000, 2000]);
    });

    it('two pods needing the same image while it is being pulled share one runtime pull', async () => {
      const puller = newPuller();
      const a = makePod('a', [{ name: 'main', image: images[0]! }]);
      const b = makePod('b', [{ name: 'main', image: images[0]! }]);
      const ra = track(ensure(puller, a));
      const rb = track(ensure(puller, b));
      await clock.advance(1000);
      assert.ok(ra.settled && rb.settled && !ra.error && !rb.error);
      assert.equal(pulls.length, 1);
      for (const p of [a, b]) assert.match(eventsOf(p).at(-1)!, /^Normal Pulled: Successfully pulled image .* in 1s \(1s including waiting\)/);
    });

    it('rejects negative settings', () => {
      assert.throws(() => newPuller({ registryPullQPS: -1 }), /registryPullQPS must be >= 0/);
      assert.throws(() => newPuller({ registryBurst: 1.5 }), /registryBurst must be an integer >= 0/);
      assert.throws(() => newPuller({ maxParallelImagePulls: -2 }), /maxParallelImagePulls must be >= 0/);
    });
  });

  describe('registryPullQPS / registryBurst', () => {
    const images = Array.from({ length: 12 }, (_, i) => `${REG}/q${i}:1`);
    beforeEach(() => setup({ registry: images.map((ref) => ({ ref })) }));

    it('burst pulls go at once; the next fails with "pull QPS exceeded" until a token has refilled', async () => {
      const puller = newPuller({ registryPullQPS: 1, registryBurst: 2, serializeImagePulls: false });
      const pods = images.slice(0, 3).map((image, i) => makePod(`p${i}`, [{ name: 'main', image }]));
      const results = await Promise.all(pods.map((p) => outcome(ensure(puller, p))));
      assert.deepEqual(results, ['ok', 'ok', 'ErrImagePull']);
      assert.equal(eventsOf(pods[2]!).at(-1), `Warning Failed: Failed to pull image "${images[2]}": pull QPS exceeded`);
      assert.equal(pulls.length, 2, 'the refused pull never reached the runtime');
      await clock.advance(1000);
      assert.equal(await outcome(ensure(puller, makePod('later', [{ name: 'main', image: images[3]! }]))), 'ok');
    });

    it('the defaults (5 QPS, burst 10) refuse the 11th pull at one instant; QPS 0 means no limit', async () => {
      const limited = newPuller({ serializeImagePulls: false });
      const r1 = await Promise.all(images.slice(0, 11).map((image, i) => outcome(ensure(limited, makePod(`a${i}`, [{ name: 'main', image }])))));
      assert.deepEqual(r1.filter((r) => r !== 'ok'), ['ErrImagePull']);
      setup({ registry: images.map((ref) => ({ ref })) });
      const unlimited = newPuller({ serializeImagePulls: false, registryPullQPS: 0 });
      const r2 = await Promise.all(images.map((image, i) => outcome(ensure(unlimited, makePod(`b${i}`, [{ name: 'main', image }])))));
      assert.ok(r2.every((r) => r === 'ok'));
    });
  });

  // ---------------------------------------------------------------- credentials

  describe('pull secrets and the node docker config', () => {
    const PRIVATE = `${REG}/private:1`;
    const alice = { username: 'alice', password: 's3cret' };
    let secrets: Map<string, V1Secret>;
    const getPullSecrets = (pod: V1Pod): Promise<V1Secret[]> =>
      Promise.resolve((pod.spec?.imagePullSecrets ?? []).flatMap((r) => (secrets.has(r.name!) ? [secrets.get(r.name!)!] : [])));
    let dir: string;

    beforeEach(() => {
      setup({ registry: [{ ref: PRIVATE, auth: alice }, { ref: APP }] });
      secrets = new Map([
        ['good', dockerSecret('good', { [REG]: alice })],
        ['wrong', dockerSecret('wrong', { [`http://${REG}/v2/`]: { username: 'alice', password: 'nope' } })],
        ['elsewhere', dockerSecret('elsewhere', { 'registry.example.com': alice })],
      ]);
      dir = mkdtempSync(join(tmpdir(), 'nodelet-puller-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('passes the matching secret to the runtime as AuthConfig', async () => {
      const pod = makePod('p', [{ name: 'main', image: PRIVATE }], ['elsewhere', 'good']);
      assert.equal(await outcome(ensure(newPuller({ getPullSecrets }), pod)), 'ok');
      assert.deepEqual(pulls.map((p) => p.auth), [alice]);
    });

    it('a wrong secret: ErrImagePull with the registry\'s 401', async () => {
      const pod = makePod('p', [{ name: 'main', image: PRIVATE }], ['wrong']);
      const err = await failure(ensure(newPuller({ getPullSecrets }), pod));
      assert.equal(err.reason, 'ErrImagePull');
      assert.match(err.message, /^Failed to pull image "127\.0\.0\.1:5000\/private:1": .*401 Unauthorized$/);
      assert.deepEqual(pulls.map((p) => p.auth), [{ username: 'alice', password: 'nope' }]);
    });

    it('tries each matching credential in order until one works', async () => {
      const pod = makePod('p', [{ name: 'main', image: PRIVATE }], ['wrong', 'good']);
      assert.equal(await outcome(ensure(newPuller({ getPullSecrets }), pod)), 'ok');
      assert.deepEqual(pulls.map((p) => p.auth?.password), ['nope', 's3cret']);
    });

    it('several failing credentials: their errors aggregated, identical ones once', async () => {
      secrets.set('wrong2', dockerSecret('wrong2', { [REG]: { username: 'bob', password: 'x' } }));
      const pod = makePod('p', [{ name: 'main', image: PRIVATE }], ['wrong', 'wrong2']);
      const err = await failure(ensure(newPuller({ getPullSecrets }), pod));
      assert.equal(pulls.length, 2);
      assert.match(err.message, /^Failed to pull image "[^"]+": PullImage: failed to pull and unpack image .*401 Unauthorized$/);
      assert.ok(!err.message.includes('": ['), 'two identical messages are reported once, without brackets');
    });

    it('aggregateMessage: one error as is, several in brackets, duplicates once', () => {
      assert.equal(aggregateMessage(['a']), 'a');
      assert.equal(aggregateMessage(['a', 'b', 'a']), '[a, b]');
      assert.equal(aggregateMessage(['a', 'a']), 'a');
    });

    it('no matching credential: an anonymous pull', async () => {
      const pod = makePod('p', [{ name: 'main', image: APP }], ['elsewhere']);
      assert.equal(await outcome(ensure(newPuller({ getPullSecrets }), pod)), 'ok');
      assert.deepEqual(pulls.map((p) => p.auth), [undefined]);
    });

    it('a secret with unreadable JSON fails the pull with the parse error', async () => {
      secrets.set('garbled', { metadata: { name: 'garbled' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths":') } });
      const pod = makePod('p', [{ name: 'main', image: APP }], ['garbled']);
      const err = await failure(ensure(newPuller({ getPullSecrets }), pod));
      assert.equal(err.reason, 'ErrImagePull');
      assert.match(err.message, /JSON/);
      assert.equal(pulls.length, 0);
    });

    it('secrets that cannot be retrieved: the FailedToRetrieveImagePullSecret warning on the pod, and the pull goes on', async () => {
      const pod = makePod('p', [{ name: 'main', image: APP }], ['good', 'gone', 'also-gone']);
      assert.equal(await outcome(ensure(newPuller({ getPullSecrets }), pod)), 'ok');
      const ev = events.list({ uid: 'uid-p' }).find((e) => e.reason === 'FailedToRetrieveImagePullSecret');
      assert.ok(ev);
      assert.equal(ev.type, 'Warning');
      assert.equal(ev.message, 'Unable to retrieve some image pull secrets (gone, also-gone); attempting to pull the image may not succeed.');
      assert.equal(ev.involvedObject.fieldPath, undefined, 'the event is about the pod');
    });

    it('without a secret source, named secrets are all reported; a failing source likewise', async () => {
      const pod = makePod('p', [{ name: 'main', image: APP }], ['good']);
      assert.equal(await outcome(ensure(newPuller(), pod)), 'ok');
      assert.match(eventsOf(pod)[0]!, /^Warning FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets \(good\)/);
      const pod2 = makePod('q', [{ name: 'main', image: APP, imagePullPolicy: 'Always' }], ['good']);
      await ensure(newPuller({ getPullSecrets: () => Promise.reject(new Error('forbidden')) }), pod2);
      assert.match(eventsOf(pod2)[0]!, /\(good\)/);
    });

    it('two pods with different credentials do not share a pull', async () => {
      setup({ registry: [{ ref: PRIVATE, auth: alice, pullDelayMs: 1000 }] });
      const puller = newPuller({ getPullSecrets, serializeImagePulls: false });
      const a = track(ensure(puller, makePod('a', [{ name: 'main', image: PRIVATE }], ['wrong'])));
      const b = track(ensure(puller, makePod('b', [{ name: 'main', image: PRIVATE }], ['good'])));
      await clock.advance(1000);
      assert.equal((a.error as ImageError).reason, 'ErrImagePull');
      assert.ok(b.settled && !b.error, 'the pod with the right secret is not failed by the other pod\'s pull');
      assert.equal(pulls.length, 2);
    });

    it('the node docker config.json is used after the pod\'s secrets', async () => {
      const cfg = join(dir, 'config.json');
      writeFileSync(cfg, JSON.stringify({ auths: { [`https://${REG}`]: { auth: b64('alice:s3cret') } } }));
      const puller = newPuller({ getPullSecrets, nodeDockerConfigPaths: [join(dir, 'absent.json'), cfg] });
      assert.equal(await outcome(ensure(puller, makePod('a', [{ name: 'main', image: PRIVATE }]))), 'ok');
      assert.deepEqual(pulls.map((p) => p.auth), [alice]);
      pulls = [];
      await sim.removeImage(PRIVATE);
      assert.equal(await outcome(ensure(puller, makePod('b', [{ name: 'main', image: PRIVATE }], ['wrong']))), 'ok');
      assert.deepEqual(pulls.map((p) => p.auth?.password), ['nope', 's3cret'], 'pod secret first, then the node');
    });
  });
});
