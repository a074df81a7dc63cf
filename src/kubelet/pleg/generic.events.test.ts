// GenericPLEG woken by container events: the simulated runtime's event stream (through the
// metrics wrapper, as the kubelet builds it) and KubeRuntimeManager reading pods back, on a fake
// clock. An exit is reported within the coalescing window instead of up to a relist period later;
// bursts share relists; a lagging runtime listing is relisted until it agrees; a broken stream is
// watched again with backoff while the periodic relist goes on; no stream means relisting as before.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UnavailableError } from '../../runtime/errors.js';
import { instrumentRuntime } from '../../runtime/instrumented.js';
import { SimRuntime } from '../../runtime/sim/index.js';
import type { ContainerEvent, ContainerEventHandlers, ContainerEventWatch, PodSandboxConfig } from '../../runtime/types.js';
import { FakeClock, flushMicrotasks } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { newRegistry } from '../../util/metrics.js';
import { LocalEventStore } from '../events/index.js';
import { containerNameLabel, podNameLabel, podNamespaceLabel, podUidLabel } from '../kuberuntime/labels.js';
import { KubeRuntimeManager } from '../kuberuntime/manager.js';
import { PodStatusCache } from './cache.js';
import { eventSeen, GenericPLEG, type ContainerEventSource, type PlegContainerState } from './generic.js';
import type { PodLifecycleEvent } from './types.js';

const BUSYBOX = 'localhost/busybox:latest';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An event source a test drives by hand. */
class ManualEvents implements ContainerEventSource {
  watches: { handlers: ContainerEventHandlers; stopped: boolean }[] = [];
  /** When set, each watch fails at once (on a microtask) with this. */
  failWith: (() => Error) | undefined;
  readonly attempts: number[] = [];
  constructor(private readonly clock: FakeClock) {}
  watchContainerEvents(handlers: ContainerEventHandlers): ContainerEventWatch {
    this.attempts.push(this.clock.now());
    const w = { handlers, stopped: false };
    const fail = this.failWith;
    this.watches.push(w);
    queueMicrotask(() => {
      if (w.stopped) return;
      if (fail) {
        w.stopped = true;
        handlers.onError?.(fail());
      } else handlers.onReady?.('containerd');
    });
    return { stop: () => void (w.stopped = true) };
  }
  emit(e: Omit<ContainerEvent, 'createdAt'>): void {
    for (const w of this.watches) if (!w.stopped) w.handlers.onEvent({ createdAt: this.clock.now() * 1e6, ...e });
  }
  live(): number {
    return this.watches.filter((w) => !w.stopped).length;
  }
}

function setup(opts: { events?: 'sim' | 'none' | 'unimplemented' | 'manual' } = {}) {
  const clock = new FakeClock();
  const manual = new ManualEvents(clock);
  const dir = mkdtempSync(join(tmpdir(), 'nodelet-pleg-events-'));
  dirs.push(dir);
  const kind = opts.events ?? 'sim';
  const sim = new SimRuntime({ clock, images: [{ ref: BUSYBOX }], containerEvents: kind !== 'unimplemented' });
  const registry = newRegistry();
  const runtime = instrumentRuntime(sim, registry);
  const logger = new MemoryLogger();
  const provider = new KubeRuntimeManager({
    runtime,
    clock,
    logger,
    recorder: new LocalEventStore(clock, logger),
    node: { nodeName: 'n1', hostIP: '192.0.2.10', resolvConf: '', clusterDNS: [], clusterDomain: 'cluster.local', memoryCapacity: 1 << 30, allocatableCpuMillis: 1000, allocatableMemory: 1 << 30 },
    rootDir: join(dir, 'root'),
    podLogsRoot: join(dir, 'logs'),
  });
  const cache = new PodStatusCache();
  const events: ContainerEventSource | undefined = kind === 'none' ? undefined : kind === 'manual' ? manual : runtime;
  const pleg = new GenericPLEG({ provider, cache, clock, logger, registry, ...(events ? { events } : {}) });
  const seen: (PodLifecycleEvent & { at: number })[] = [];
  pleg.watch((e) => seen.push({ ...e, at: clock.now() }));
  /** A pod with n running `sleep 3600` containers, made directly in the runtime. */
  const runPod = async (uid: string, n = 1): Promise<{ sandbox: string; containers: string[] }> => {
    const labels = { [podUidLabel]: uid, [podNameLabel]: `pod-${uid}`, [podNamespaceLabel]: 'default' };
    const cfg: PodSandboxConfig = { metadata: { name: `pod-${uid}`, namespace: 'default', uid, attempt: 0 }, labels };
    const sandbox = await sim.runPodSandbox(cfg);
    const containers: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = await sim.createContainer(sandbox, { metadata: { name: `c${i}`, attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '3600'], labels: { ...labels, [containerNameLabel]: `c${i}` } }, cfg);
      await sim.startContainer(id);
      containers.push(id);
    }
    return { sandbox, containers };
  };
  const lists = (): number => sim.calls.get('ListContainers') ?? 0;
  const died = (id: string) => seen.find((e) => e.type === 'ContainerDied' && e.data === id);
  return { clock, sim, manual, registry, logger, cache, pleg, seen, runPod, lists, died };
}

describe('eventSeen', () => {
  it('tells when a listing agrees with an event', () => {
    const states: PlegContainerState[] = ['running', 'exited', 'unknown', 'non-existent'];
    const want = {
      created: [true, true, true, true],
      started: [true, true, false, true],
      stopped: [false, true, false, true],
      deleted: [false, false, false, true],
    } as const;
    for (const [type, row] of Object.entries(want)) {
      states.forEach((st, i) => assert.equal(eventSeen(type as keyof typeof want, st), row[i], `${type} vs ${st}`));
    }
  });
});

describe('GenericPLEG with container events', () => {
  it('reports an exit within the coalescing window, not a relist period later', async () => {
    const { clock, sim, pleg, cache, logger, registry, runPod, died, lists } = setup();
    const { containers } = await runPod('u1');
    const c = containers[0]!;
    pleg.start();
    await clock.advance(0);
    assert.equal(sim.containerEventWatches(), 1, 'watching through the instrumented runtime');
    assert.ok(logger.find((r) => r.level === 'info' && r.msg === 'container events from the CRI runtime: relist on event'));
    assert.equal(pleg.eventsConnected(), true);
    await clock.advance(300); // well inside the 1 s period
    const relistsBefore = lists();
    const exitAt = clock.now();
    sim.exitContainer(c, 3);
    await clock.advance(49);
    assert.equal(died(c), undefined, 'coalescing: not before the window ends');
    await clock.advance(1);
    assert.equal(died(c)?.at, exitAt + 50, 'ContainerDied at the end of the 50 ms window');
    assert.equal(cache.get('u1').containerStatuses.find((s) => s.id === c)?.state, 'exited', 'the cache has the exit first');
    assert.equal(lists() - relistsBefore, 1, 'one relist for the event');
    // the listing agreed: no more event relists; the periodic one goes on
    await clock.advance(600);
    assert.equal(lists() - relistsBefore, 1);
    await clock.advance(100);
    assert.equal(lists() - relistsBefore, 2, 'the periodic relist is still there');
    const text = await registry.metrics();
    assert.match(text, /kubelet_evented_pleg_connection_success_count 1/);
    assert.match(text, /kubelet_pleg_event_relists_total 1/);
    assert.match(text, /kubelet_evented_pleg_connection_latency_seconds_count [1-9]/);
    await pleg.stop();
    assert.equal(sim.containerEventWatches(), 0, 'stop() ends the watch');
  });

  it('shares relists among a burst of 100 exits', async () => {
    const { clock, sim, pleg, runPod, died, lists, seen } = setup();
    const pods = [];
    for (let i = 0; i < 10; i++) pods.push(await runPod(`u${i}`, 10));
    const ids = pods.flatMap((p) => p.containers);
    pleg.start();
    await clock.advance(300);
    const before = lists();
    seen.length = 0;
    // 100 exits over 99 ms
    for (const [i, id] of ids.entries()) {
      sim.exitContainer(id, 0);
      if (i % 10 === 9) await clock.advance(11);
    }
    await clock.advance(100);
    for (const id of ids) assert.ok(died(id), `ContainerDied for ${id}`);
    assert.ok(Math.max(...seen.map((e) => e.at)) <= clock.now(), 'all within ~200 ms');
    const relists = lists() - before;
    assert.ok(relists >= 2 && relists <= 4, `at most one relist per 50 ms window (got ${relists})`);
    await pleg.stop();
  });

  it('relists again while the runtime lists an exited container as running, and gives up after a period', async () => {
    const { clock, sim, manual, pleg, runPod, died, lists } = setup({ events: 'manual' });
    const { containers } = await runPod('u1', 2);
    const [c1, c2] = [containers[0]!, containers[1]!];
    pleg.start();
    await clock.advance(300);
    const t = clock.now();
    const before = lists();
    // containerd says /tasks/exit; its CRI status shows the exit 180 ms later
    manual.emit({ containerId: c1, type: 'stopped' });
    await clock.advance(180);
    assert.equal(died(c1), undefined);
    sim.exitContainer(c1, 1);
    await clock.advance(50);
    assert.ok(died(c1) && died(c1)!.at - t <= 230, `ContainerDied ${died(c1)?.at !== undefined ? died(c1)!.at - t : 'never'} ms after the event`);
    const afterSeen = lists();
    assert.ok(afterSeen - before <= 5, `relists every window while the listing disagrees (${afterSeen - before})`);
    await clock.advance(400);
    assert.equal(lists(), afterSeen, 'none once it agrees (the periodic relist is not due yet)');

    // an event the listing never confirms: retried for one period at most, then left to the periodic relist
    manual.emit({ containerId: c2, type: 'stopped' });
    const b2 = lists();
    await clock.advance(3000);
    const n = lists() - b2;
    assert.ok(n <= 24, `bounded: ${n} relists in 3 s`);
    assert.equal(died(c2), undefined);
    await pleg.stop();
  });

  it('ignores created events (nothing to report) and events after stop()', async () => {
    const { clock, manual, pleg, lists } = setup({ events: 'manual' });
    pleg.start();
    await clock.advance(300);
    const before = lists();
    manual.emit({ containerId: 'x', type: 'created' });
    await clock.advance(100);
    assert.equal(lists(), before);
    await pleg.stop();
    manual.emit({ containerId: 'x', type: 'stopped' });
    await clock.advance(5000);
    assert.equal(lists(), before);
    assert.equal(manual.live(), 0);
  });

  it('without a subscription relists every period as before', async () => {
    const { clock, sim, pleg, runPod, died, lists, logger } = setup({ events: 'none' });
    const { containers } = await runPod('u1');
    pleg.start();
    await clock.advance(300);
    const before = lists();
    const exitAt = clock.now();
    sim.exitContainer(containers[0]!, 3);
    await clock.advance(600);
    assert.equal(died(containers[0]!), undefined, 'nothing until the periodic relist');
    await clock.advance(100);
    assert.equal(died(containers[0]!)?.at, exitAt + 700);
    assert.equal(lists() - before, 1);
    assert.equal(logger.find((r) => /container event/.test(r.msg)), undefined, 'no events configured: nothing said');
    await pleg.stop();
  });

  it('a runtime without events (Unimplemented) is relisted only, with one warning and no retries', async () => {
    const { clock, sim, pleg, runPod, died, logger, registry } = setup({ events: 'unimplemented' });
    const { containers } = await runPod('u1');
    pleg.start();
    await clock.advance(300);
    sim.exitContainer(containers[0]!, 3);
    await clock.advance(100);
    assert.equal(died(containers[0]!), undefined);
    await clock.advance(600);
    assert.ok(died(containers[0]!));
    await clock.advance(60_000);
    assert.equal(sim.calls.get('GetContainerEvents'), 1, 'not asked again');
    const warns = logger.records.filter((r) => r.level === 'warn' && r.msg === 'container events unavailable; relisting only');
    assert.equal(warns.length, 1);
    assert.match(String(warns[0]!.fields['reason']), /GetContainerEvents/);
    assert.match(await registry.metrics(), /kubelet_evented_pleg_connection_error_count 1/);
    assert.equal(pleg.eventsConnected(), false);
    await pleg.stop();
  });

  it('a broken stream: the periodic relist goes on, the PLEG watches again and relists for what it missed', async () => {
    const { clock, sim, pleg, runPod, died, logger, registry, lists } = setup();
    const { containers } = await runPod('u1', 2);
    pleg.start();
    await clock.advance(300);
    sim.breakContainerEvents();
    await flushMicrotasks();
    assert.equal(pleg.eventsConnected(), false);
    assert.ok(logger.find((r) => r.level === 'warn' && r.msg === 'container event stream failed; relisting only until it is back'));
    // an exit while no stream is up is still found by the periodic relist
    const exitAt = clock.now();
    sim.exitContainer(containers[0]!, 3);
    await clock.advance(400);
    assert.equal(died(containers[0]!), undefined);
    assert.equal(sim.containerEventWatches(), 0);
    await clock.advance(100); // the resubscription's backoff: 500 ms
    assert.equal(sim.containerEventWatches(), 1, 'watching again');
    assert.equal(pleg.eventsConnected(), true);
    const before = lists();
    await clock.advance(50);
    assert.equal(lists() - before, 1, 'a relist for whatever the gap hid');
    assert.equal(died(containers[0]!)?.at, exitAt + 550);
    // and events work again
    const t = clock.now();
    sim.exitContainer(containers[1]!, 3);
    await clock.advance(50);
    assert.equal(died(containers[1]!)?.at, t + 50);
    const text = await registry.metrics();
    assert.match(text, /kubelet_evented_pleg_connection_success_count 2/);
    assert.match(text, /kubelet_evented_pleg_connection_error_count 1/);
    assert.ok(logger.find((r) => r.level === 'info' && r.fields['reconnected'] === true));
    await pleg.stop();
  });

  it('retries a failing stream with backoff (0.5 s doubling to 10 s), warning once', async () => {
    const { clock, manual, pleg, logger } = setup({ events: 'manual' });
    manual.failWith = () => new UnavailableError('GetContainerEvents', 'connection refused');
    pleg.start();
    await clock.advance(40_000);
    const gaps = manual.attempts.slice(1).map((t, i) => t - manual.attempts[i]!);
    assert.deepEqual(gaps.slice(0, 7), [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1, 'one warning, then debug lines');
    // once it connects, the backoff starts over
    manual.failWith = undefined;
    await clock.advance(10_000);
    assert.equal(pleg.eventsConnected(), true);
    manual.watches.at(-1)!.handlers.onError?.(new UnavailableError('GetContainerEvents', 'containerd restarted'));
    const n = manual.attempts.length;
    await clock.advance(500);
    assert.equal(manual.attempts.length, n + 1, 'first retry after 0.5 s again');
    await pleg.stop();
  });
});
