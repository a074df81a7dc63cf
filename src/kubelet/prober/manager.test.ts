// ProbeManager and its workers on the fake clock: with a scripted prober for the timing and
// threshold rules, and with the simulated runtime for exec probes end to end.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { Counter, Registry } from 'prom-client';
import { SimRuntime } from '../../runtime/sim/index.js';
import { FakeClock } from '../../util/clock.js';
import type { EventRecorder } from '../events/index.js';
import { ProbeManager, type ProbeManagerDeps, type ProbeUpdate } from './manager.js';
import { renderProbeMetrics } from './metrics.js';
import type { ProbeType } from './prober.js';
import type { ProbeResult } from './results.js';
import type { ContainerInfo } from './worker.js';

const T0 = Date.UTC(2026, 0, 1);
const BUSYBOX = 'localhost/busybox:latest';
const exec = (extra: Partial<V1Probe> = {}): V1Probe => ({ exec: { command: ['cat', '/tmp/healthy'] }, ...extra });

function makePod(probes: { liveness?: V1Probe; readiness?: V1Probe; startup?: V1Probe }, extra: { uid?: string; restartPolicy?: string; deletionTimestamp?: Date } = {}): V1Pod {
  const c: V1Container = { name: 'app', image: BUSYBOX };
  if (probes.liveness) c.livenessProbe = probes.liveness;
  if (probes.readiness) c.readinessProbe = probes.readiness;
  if (probes.startup) c.startupProbe = probes.startup;
  return {
    metadata: { name: 'web', namespace: 'default', uid: extra.uid ?? 'uid-1', ...(extra.deletionTimestamp ? { deletionTimestamp: extra.deletionTimestamp } : {}) },
    spec: { containers: [c], ...(extra.restartPolicy ? { restartPolicy: extra.restartPolicy } : {}) },
  };
}

/** A manager whose probes answer from per-type scripts (then `fallback`), recording each call. */
function scripted(opts: Partial<ProbeManagerDeps> & { fallback?: ProbeResult } = {}) {
  const clock = new FakeClock(T0);
  const registry = new Registry();
  const containers = new Map<string, ContainerInfo>();
  const scripts: Record<ProbeType, ProbeResult[]> = { liveness: [], readiness: [], startup: [] };
  const calls: Array<{ t: number; type: ProbeType; id: string }> = [];
  const updates: Array<{ t: number; podUid: string; u: ProbeUpdate }> = [];
  const mgr = new ProbeManager({
    runtime: { execSync: () => Promise.reject(new Error('not used')) },
    clock,
    registry,
    rand: () => 0,
    getContainer: (uid, name) => containers.get(`${uid}/${name}`),
    probe: async (type, target) => {
      calls.push({ t: clock.now() - T0, type, id: target.containerId });
      const r = scripts[type].shift() ?? opts.fallback ?? 'Success';
      return { result: r, output: r === 'Failure' ? 'boom' : '' };
    },
    ...opts,
  });
  mgr.onUpdate((podUid, u) => updates.push({ t: clock.now() - T0, podUid, u }));
  const setContainer = (id: string, running = true, startedAt = T0, uid = 'uid-1'): void => {
    containers.set(`${uid}/app`, { id, running, startedAt });
  };
  const callsOf = (type: ProbeType): number[] => calls.filter((c) => c.type === type).map((c) => c.t);
  return { clock, registry, containers, scripts, calls, updates, mgr, setContainer, callsOf };
}

describe('probe workers (scripted prober)', () => {
  it('liveness: Failure after 3 failures in a row, the kill verdict, then on hold until a new container', async () => {
    const h = scripted();
    h.scripts.liveness.push('Failure', 'Failure', 'Success', 'Failure', 'Failure', 'Failure');
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ liveness: exec() }));
    assert.equal(h.mgr.livenessResults.get('c1'), 'Success', 'initial liveness is Success');
    await h.clock.advance(49_000);
    assert.deepEqual(h.callsOf('liveness'), [0, 10_000, 20_000, 30_000, 40_000]);
    assert.equal(h.mgr.probeVerdict('c1'), undefined, 'a success in between restarted the count');
    await h.clock.advance(1000);
    assert.deepEqual(h.mgr.probeVerdict('c1'), { kind: 'liveness', message: 'Container app failed liveness probe' });
    await h.clock.advance(60_000);
    assert.equal(h.callsOf('liveness').length, 6, 'on hold: no probes of a container that will be killed');
    // the container is restarted: a new ID, a fresh start
    h.setContainer('c2', true, h.clock.now());
    await h.clock.advance(10_000);
    assert.equal(h.mgr.livenessResults.get('c1'), undefined, "the old container's result is dropped");
    assert.equal(h.mgr.probeVerdict('c1'), undefined);
    assert.equal(h.mgr.livenessResults.get('c2'), 'Success');
    assert.equal(h.callsOf('liveness').length, 7);
  });

  it('a new container ID resets the failure count', async () => {
    const h = scripted({ fallback: 'Failure' });
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ liveness: exec() }));
    await h.clock.advance(10_000); // failures at 0 and 10 s
    h.setContainer('c2', true, h.clock.now());
    await h.clock.advance(10_000); // one failure for c2
    assert.equal(h.mgr.probeVerdict('c2'), undefined, 'two failures of c1 do not count for c2');
    await h.clock.advance(20_000);
    assert.deepEqual(h.mgr.probeVerdict('c2'), { kind: 'liveness', message: 'Container app failed liveness probe' });
  });

  it('readiness: Failure until one success, Failure again after 3 failures; successThreshold 2 needs two', async () => {
    const h = scripted();
    h.scripts.readiness.push('Success', 'Failure', 'Failure', 'Failure');
    h.setContainer('c1');
    h.mgr.addPod(makePod({ readiness: exec() }));
    h.mgr.start();
    assert.equal(h.mgr.readiness('c1'), false, 'initial readiness is Failure, published at once');
    await h.clock.advance(0);
    assert.equal(h.mgr.readiness('c1'), true);
    await h.clock.advance(20_000);
    assert.equal(h.mgr.readiness('c1'), true, 'two failures are below the threshold');
    await h.clock.advance(10_000);
    assert.equal(h.mgr.readiness('c1'), false);
    assert.deepEqual(
      h.updates.filter((x) => x.u.probeType === 'readiness').map((x) => [x.t, x.u.result]),
      [
        [0, 'Failure'],
        [0, 'Success'],
        [30_000, 'Failure'],
      ],
    );

    const h2 = scripted();
    h2.setContainer('c1');
    h2.mgr.start();
    h2.mgr.addPod(makePod({ readiness: exec({ successThreshold: 2 }) }));
    await h2.clock.advance(0);
    assert.equal(h2.mgr.readiness('c1'), false);
    await h2.clock.advance(10_000);
    assert.equal(h2.mgr.readiness('c1'), true);
  });

  it('initialDelaySeconds counts from the container start; periodSeconds sets the pace', async () => {
    const h = scripted();
    h.setContainer('c1', true, T0 - 3000); // started 3 s before
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec({ initialDelaySeconds: 15, periodSeconds: 5 }) }));
    await h.clock.advance(30_000);
    assert.deepEqual(h.callsOf('readiness'), [15_000, 20_000, 25_000, 30_000], 'elapsed 3, 8, 13 s are skipped; 18 s is not');
  });

  it('the first probe waits a random part of the period, only while the manager is young', async () => {
    const h = scripted({ rand: () => 0.5 });
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ liveness: exec() }));
    await h.clock.advance(30_000);
    assert.deepEqual(h.callsOf('liveness'), [5000, 15_000, 25_000]);
    // a pod added when the manager has run longer than the period starts at once
    h.containers.set('uid-2/app', { id: 'd1', running: true, startedAt: h.clock.now() });
    h.mgr.addPod(makePod({ liveness: exec() }, { uid: 'uid-2' }));
    assert.deepEqual(h.calls.filter((c) => c.id === 'd1').map((c) => c.t), [30_000]);
  });

  it('startup gates liveness and readiness until it succeeds, then stops probing', async () => {
    const h = scripted();
    h.scripts.startup.push('Failure', 'Failure', 'Success');
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ startup: exec({ periodSeconds: 1, failureThreshold: 5 }), liveness: exec(), readiness: exec() }));
    assert.equal(h.mgr.started('c1'), false);
    await h.clock.advance(2000);
    assert.deepEqual(h.callsOf('startup'), [0, 1000, 2000]);
    assert.equal(h.mgr.started('c1'), true);
    assert.deepEqual(h.callsOf('liveness'), [], 'liveness idle before the startup success');
    assert.deepEqual(h.callsOf('readiness'), []);
    assert.equal(h.mgr.readiness('c1'), false);
    await h.clock.advance(20_000);
    assert.deepEqual(h.callsOf('startup'), [0, 1000, 2000], 'startup is done');
    assert.deepEqual(h.callsOf('liveness'), [10_000, 20_000]);
    assert.deepEqual(h.callsOf('readiness'), [10_000, 20_000]);
    assert.equal(h.mgr.readiness('c1'), true);
  });

  it('startup failureThreshold reached: the startup verdict, and liveness never ran', async () => {
    const h = scripted({ fallback: 'Failure' });
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ startup: exec({ periodSeconds: 1, failureThreshold: 3 }), liveness: exec({ periodSeconds: 1 }) }));
    await h.clock.advance(1000);
    assert.equal(h.mgr.probeVerdict('c1'), undefined);
    await h.clock.advance(1000);
    assert.deepEqual(h.mgr.probeVerdict('c1'), { kind: 'startup', message: 'Container app failed startup probe' });
    assert.equal(h.mgr.started('c1'), false);
    await h.clock.advance(10_000);
    assert.deepEqual(h.callsOf('startup'), [0, 1000, 2000]);
    assert.deepEqual(h.callsOf('liveness'), []);
    assert.ok(h.updates.some((x) => x.u.probeType === 'startup' && x.u.result === 'Failure'));
  });

  it('a container that is not running: readiness Failure, no probes; an exited container of a Never pod ends the worker', async () => {
    const h = scripted();
    h.setContainer('c1', false, 0); // created, not started
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec(), liveness: exec() }, { restartPolicy: 'Never' }));
    await h.clock.advance(20_000);
    assert.equal(h.mgr.readiness('c1'), false);
    assert.equal(h.mgr.livenessResults.get('c1'), 'Success', 'liveness of a container that is not running is left alone');
    assert.equal(h.calls.length, 0);
    assert.equal(h.mgr.workerCount(), 2);
    h.setContainer('c1', true, h.clock.now());
    await h.clock.advance(10_000);
    assert.equal(h.mgr.readiness('c1'), true);
    h.setContainer('c1', false, T0 + 20_000); // exited
    await h.clock.advance(10_000);
    assert.equal(h.mgr.workerCount(), 0, 'a Never pod does not restart it: the workers end');
    assert.equal(h.mgr.readiness('c1'), undefined);

    const a = scripted();
    a.setContainer('c1', false, T0);
    a.mgr.start();
    a.mgr.addPod(makePod({ readiness: exec() }));
    await a.clock.advance(20_000);
    assert.equal(a.mgr.workerCount(), 1, 'restartPolicy Always: the worker waits for the next container');
  });

  it('a pod being deleted: liveness publishes Success and its worker ends', async () => {
    const h = scripted({ fallback: 'Failure' });
    h.setContainer('c1');
    h.mgr.start();
    const pod = makePod({ liveness: exec({ failureThreshold: 1 }), readiness: exec() });
    h.mgr.addPod(pod);
    await h.clock.advance(0);
    assert.ok(h.mgr.probeVerdict('c1'));
    h.setContainer('c2', true, h.clock.now()); // restarted
    h.mgr.addPod(makePod({ liveness: exec({ failureThreshold: 1 }), readiness: exec() }, { deletionTimestamp: new Date(h.clock.now()) }));
    await h.clock.advance(10_000);
    assert.equal(h.mgr.livenessResults.get('c2'), undefined, 'the ended worker dropped its result');
    assert.equal(h.mgr.probeVerdict('c2'), undefined);
    assert.equal(h.mgr.workerCount(), 1, 'readiness goes on');
    assert.ok(h.updates.every((x) => !(x.u.probeType === 'liveness' && x.u.containerId === 'c2')));
  });

  it('previousReadiness seeds the first container: a kubelet restart does not flip a ready container', async () => {
    const seen: string[] = [];
    const h = scripted({
      rand: () => 0.9,
      previousReadiness: (uid, name, id) => {
        seen.push(`${uid}/${name}/${id}`);
        return id === 'c1' ? true : undefined;
      },
    });
    h.scripts.readiness.push('Failure');
    h.setContainer('c1', true, T0 - 3_600_000);
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec(), startup: exec() }));
    assert.equal(h.mgr.readiness('c1'), true, 'ready before any probe ran');
    assert.equal(h.mgr.started('c1'), true, 'a ready container had started');
    assert.ok(seen.includes('uid-1/app/c1'));
    await h.clock.advance(9000);
    assert.deepEqual(h.callsOf('readiness'), [9000]);
    assert.equal(h.mgr.readiness('c1'), true, 'one failure is below the threshold');
    assert.deepEqual(h.callsOf('startup'), [], 'the startup probe does not run again');
    // another container ID is not seeded
    h.containers.set('uid-2/app', { id: 'd1', running: true, startedAt: T0 });
    h.mgr.addPod(makePod({ readiness: exec() }, { uid: 'uid-2' }));
    assert.equal(h.mgr.readiness('d1'), false);
  });

  it('a readiness result asked for a container the worker has not seen yet runs the probe at once', async () => {
    const h = scripted();
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec() }));
    await h.clock.advance(3000);
    h.setContainer('c2', true, h.clock.now()); // restarted
    assert.equal(h.mgr.readiness('c2'), undefined);
    await h.clock.advance(0);
    assert.deepEqual(h.calls.map((c) => [c.t, c.id]), [
      [0, 'c1'],
      [3000, 'c2'],
    ]);
    assert.equal(h.mgr.readiness('c2'), true);
    await h.clock.advance(10_000);
    assert.deepEqual(h.callsOf('readiness'), [0, 3000, 13_000], 'the period restarts from the manual run');
  });

  it('removePod and cleanupPods stop the workers and drop their results', async () => {
    const h = scripted();
    h.setContainer('c1');
    h.containers.set('uid-2/app', { id: 'd1', running: true, startedAt: T0 });
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec(), liveness: exec() }));
    h.mgr.addPod(makePod({ readiness: exec() }, { uid: 'uid-2' }));
    h.mgr.addPod(makePod({ readiness: exec(), liveness: exec() })); // again: idempotent
    assert.equal(h.mgr.workerCount(), 3);
    await h.clock.advance(10_000);
    const c1Calls = (): number => h.calls.filter((c) => c.id === 'c1').length;
    const n = c1Calls();
    assert.equal(n, 4, 'readiness and liveness at 0 and 10 s');
    h.mgr.removePod(makePod({}));
    assert.equal(h.mgr.workerCount(), 1);
    assert.equal(h.mgr.readiness('c1'), undefined);
    assert.equal(h.mgr.livenessResults.get('c1'), undefined);
    await h.clock.advance(30_000);
    assert.equal(c1Calls(), n, 'no probe of the removed pod');
    assert.equal(h.calls.filter((c) => c.id === 'd1').length, 5, 'the other pod is still probed');
    h.mgr.cleanupPods(new Set(['uid-1']));
    assert.equal(h.mgr.workerCount(), 0);
    const m = h.calls.length;
    await h.clock.advance(30_000);
    assert.equal(h.calls.length, m);
  });

  it('stopLivenessAndStartup keeps readiness; stop() ends every worker, start() runs registered ones', async () => {
    const h = scripted();
    h.setContainer('c1');
    const pod = makePod({ readiness: exec(), liveness: exec(), startup: exec() });
    h.mgr.addPod(pod);
    assert.equal(h.mgr.workerCount(), 3);
    await h.clock.advance(30_000);
    assert.equal(h.calls.length, 0, 'nothing runs before start()');
    h.mgr.start();
    await h.clock.advance(0);
    assert.equal(h.mgr.started('c1'), true);
    h.mgr.stopLivenessAndStartup(pod);
    assert.equal(h.mgr.workerCount(), 1);
    assert.equal(h.mgr.livenessResults.get('c1'), undefined);
    assert.equal(h.mgr.readiness('c1'), false, 'readiness goes on');
    h.mgr.stop();
    assert.equal(h.mgr.workerCount(), 0);
    assert.equal(h.clock.pendingTimers(), 0, 'no timer left behind');
  });

  it('a getContainer that throws is taken as no container yet', async () => {
    let fail = true;
    const h = scripted();
    const mgr = new ProbeManager({
      runtime: { execSync: () => Promise.reject(new Error('not used')) },
      clock: h.clock,
      rand: () => 0,
      getContainer: () => {
        if (fail) throw new Error('relist failed');
        return { id: 'c1', running: true, startedAt: T0 };
      },
      probe: async () => ({ result: 'Success', output: '' }),
    });
    mgr.start();
    mgr.addPod(makePod({ readiness: exec() }));
    await h.clock.advance(10_000);
    assert.equal(mgr.readiness('c1'), undefined);
    fail = false;
    await h.clock.advance(10_000);
    assert.equal(mgr.readiness('c1'), true);
  });

  it('onUpdate: readiness and startup changes, liveness failures only', async () => {
    const h = scripted();
    h.scripts.liveness.push('Failure');
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec(), liveness: exec({ failureThreshold: 1 }) }));
    await h.clock.advance(0);
    assert.deepEqual(
      h.updates.map((x) => [x.podUid, x.u.probeType, x.u.result]),
      [
        ['uid-1', 'readiness', 'Failure'],
        ['uid-1', 'readiness', 'Success'],
        ['uid-1', 'liveness', 'Failure'],
      ],
    );
  });

  it('counts probes in prober_probe_total and prober_probe_duration_seconds, renders only those', async () => {
    const h = scripted();
    h.scripts.readiness.push('Success', 'Success', 'Failure');
    new Counter({ name: 'unrelated_total', help: 'x', registers: [h.registry] }).inc();
    h.setContainer('c1');
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec() }));
    await h.clock.advance(20_000);
    const text = await renderProbeMetrics(h.registry);
    const labels = 'probe_type="Readiness",container="app",pod="web",namespace="default",pod_uid="uid-1"';
    assert.ok(text.includes(`prober_probe_total{${labels.replace('container=', 'result="successful",container=')}} 2`), text);
    assert.ok(text.includes(`prober_probe_total{${labels.replace('container=', 'result="failed",container=')}} 1`), text);
    assert.ok(text.includes('prober_probe_duration_seconds_count{probe_type="Readiness",container="app",pod="web",namespace="default"} 2'), text);
    assert.ok(text.includes('# TYPE prober_probe_duration_seconds histogram'));
    assert.ok(!text.includes('unrelated_total'));
    h.mgr.removePod(makePod({}));
    const after = await renderProbeMetrics(h.registry);
    assert.ok(!after.includes('pod_uid="uid-1"'), 'a stopped worker takes its series along');
  });
});

describe('probe workers with the simulated runtime', () => {
  let root = '';
  before(() => (root = mkdtempSync(join(tmpdir(), 'nodelet-prober-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  async function simHarness(command: string[]) {
    const clock = new FakeClock(T0);
    const rt = new SimRuntime({ clock, images: [{ ref: BUSYBOX }] });
    const registry = new Registry();
    const events: string[] = [];
    const recorder: EventRecorder = { event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`) };
    const sb = { metadata: { name: 'web', namespace: 'default', uid: 'uid-1', attempt: 0 }, logDirectory: join(root, `default_web_${Math.random()}`) };
    const sid = await rt.runPodSandbox(sb);
    const id = await rt.createContainer(sid, { metadata: { name: 'app', attempt: 0 }, image: { image: BUSYBOX }, command, logPath: 'app/0.log' }, sb);
    await rt.startContainer(id);
    let info: ContainerInfo | undefined;
    const refresh = async (): Promise<void> => {
      const s = (await rt.containerStatus(id)).status;
      info = { id, running: s.state === 'CONTAINER_RUNNING', startedAt: Math.floor(s.startedAt / 1e6) };
    };
    await refresh();
    const mgr = new ProbeManager({ runtime: rt, clock, registry, recorder, rand: () => 0, getContainer: (uid, name) => (uid === 'uid-1' && name === 'app' ? info : undefined) });
    const updates: Array<[number, string, string]> = [];
    mgr.onUpdate((_uid, u) => updates.push([clock.now() - T0, u.probeType, u.result]));
    /** Moves time on in 1 s steps, refreshing the container state before each (a PLEG relist). */
    const run = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 1000) {
        await refresh();
        await clock.advance(Math.min(1000, ms - t));
      }
      await refresh();
    };
    return { clock, rt, mgr, id, run, updates, events, registry };
  }

  it('readiness follows a file the container touches and removes', async () => {
    const h = await simHarness(['sh', '-c', 'touch /tmp/healthy; sleep 30; rm /tmp/healthy; sleep 600']);
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec({ periodSeconds: 5 }) }));
    await h.run(1000);
    assert.equal(h.mgr.readiness(h.id), true);
    await h.run(28_000);
    assert.equal(h.mgr.readiness(h.id), true, 'ready while the file is there');
    await h.run(20_000);
    assert.equal(h.mgr.readiness(h.id), false);
    assert.deepEqual(h.updates, [
      [0, 'readiness', 'Failure'],
      [0, 'readiness', 'Success'],
      [40_000, 'readiness', 'Failure'],
    ], 'failures at 30, 35 and 40 s: the third one flips readiness');
    assert.ok(h.events.includes("Warning Unhealthy Readiness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n"));
  });

  it('liveness: the kill verdict after 3 failures, with the kubelet message', async () => {
    const h = await simHarness(['sh', '-c', 'sleep 600']);
    h.mgr.start();
    h.mgr.addPod(makePod({ liveness: exec() }));
    await h.run(19_000);
    assert.equal(h.mgr.probeVerdict(h.id), undefined);
    await h.run(1000);
    assert.deepEqual(h.mgr.probeVerdict(h.id), { kind: 'liveness', message: 'Container app failed liveness probe' });
    assert.deepEqual(h.updates, [[20_000, 'liveness', 'Failure']]);
    assert.equal(h.events.filter((e) => e.startsWith('Warning Unhealthy Liveness probe failed: ')).length, 3);
  });

  it('an exec probe that times out counts as a failure', async () => {
    const h = await simHarness(['sh', '-c', 'sleep 600']);
    h.mgr.start();
    h.mgr.addPod(makePod({ liveness: { exec: { command: ['sleep', '5'] }, timeoutSeconds: 1 } }));
    await h.run(22_000);
    assert.deepEqual(h.mgr.probeVerdict(h.id), { kind: 'liveness', message: 'Container app failed liveness probe' });
    assert.deepEqual(h.updates, [[21_000, 'liveness', 'Failure']], 'the third probe (20 s) fails at its 1 s timeout');
    assert.ok(h.events.includes('Warning Unhealthy Liveness probe failed: command "sleep 5" timed out'));
  });

  it('removePod stops the workers: no more ExecSync calls', async () => {
    const h = await simHarness(['sh', '-c', 'touch /tmp/healthy; sleep 600']);
    h.mgr.start();
    const pod = makePod({ readiness: exec({ periodSeconds: 1 }), liveness: exec({ periodSeconds: 1 }) });
    h.mgr.addPod(pod);
    await h.run(5000);
    const n = h.rt.calls.get('ExecSync') ?? 0;
    assert.equal(n, 12, 'two probes a second for 6 runs');
    h.mgr.removePod(pod);
    await h.run(60_000);
    assert.equal(h.rt.calls.get('ExecSync'), n);
    assert.equal(h.mgr.readiness(h.id), undefined);
    const text = await renderProbeMetrics(h.registry);
    assert.ok(!text.includes('pod_uid="uid-1"'));
  });

  it('metrics count exec probes by result', async () => {
    const h = await simHarness(['sh', '-c', 'touch /tmp/healthy; sleep 20; rm /tmp/healthy; sleep 600']);
    h.mgr.start();
    h.mgr.addPod(makePod({ readiness: exec() }));
    await h.run(40_000);
    const text = await renderProbeMetrics(h.registry);
    assert.match(text, /prober_probe_total\{probe_type="Readiness",result="successful",container="app",pod="web",namespace="default",pod_uid="uid-1"\} 2\n/);
    assert.match(text, /prober_probe_total\{probe_type="Readiness",result="failed",container="app",pod="web",namespace="default",pod_uid="uid-1"\} 3\n/);
  });
});
