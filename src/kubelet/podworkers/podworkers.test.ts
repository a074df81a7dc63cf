import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeClock, flushMicrotasks } from '../../util/clock.js';
import { nopLogger } from '../../util/logger.js';
import { PodWorkers, type PodSyncer, type SyncResult, type UpdateType } from './podworkers.js';

function pod(uid: string, version = 1, extra: Partial<V1Pod['metadata']> = {}): V1Pod {
  return { metadata: { name: `p-${uid}`, namespace: 'default', uid, annotations: { v: String(version) }, ...extra }, spec: { containers: [{ name: 'c', image: 'busybox' }], terminationGracePeriodSeconds: 30 } };
}

/** A syncer whose calls take simulated time and are recorded. */
class FakeSyncer implements PodSyncer {
  log: string[] = [];
  syncMs = 1000;
  failNext = 0;
  terminal = false;
  graces: (number | undefined)[] = [];
  constructor(private readonly clock: FakeClock) {}
  async syncPod(p: V1Pod, t: UpdateType, signal: AbortSignal): Promise<SyncResult> {
    this.log.push(`sync:${p.metadata!.annotations!['v']}:${t}`);
    await this.clock.sleep(this.syncMs, signal).catch(() => undefined);
    if (signal.aborted) {
      this.log.push('cancelled');
      return {};
    }
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('boom');
    }
    return { terminal: this.terminal };
  }
  async syncTerminatingPod(_p: V1Pod | undefined, _r: unknown, grace: number | undefined, _uid: string, signal: AbortSignal): Promise<void> {
    this.log.push('terminating');
    this.graces.push(grace);
    await this.clock.sleep(500, signal).catch(() => this.log.push('restarted'));
  }
  async syncTerminatedPod(): Promise<void> {
    this.log.push('terminated');
  }
}

function setup() {
  const clock = new FakeClock();
  const syncer = new FakeSyncer(clock);
  const requeued: [string, number][] = [];
  const workers = new PodWorkers({ clock, logger: nopLogger, syncer, requeue: (uid, d) => requeued.push([uid, d]) });
  return { clock, syncer, workers, requeued };
}

describe('PodWorkers', () => {
  it('serializes updates per pod and lets the latest pending update win', async () => {
    const { clock, syncer, workers } = setup();
    workers.updatePod({ type: 'create', pod: pod('a', 1) });
    await flushMicrotasks();
    workers.updatePod({ type: 'update', pod: pod('a', 2) });
    workers.updatePod({ type: 'update', pod: pod('a', 3) });
    await clock.advance(3000);
    assert.deepEqual(syncer.log, ['sync:1:create', 'sync:3:update'], 'version 2 was superseded before it ran');
  });

  it('runs different pods concurrently', async () => {
    const { clock, syncer, workers } = setup();
    workers.updatePod({ type: 'create', pod: pod('a') });
    workers.updatePod({ type: 'create', pod: pod('b') });
    await clock.advance(1000);
    assert.equal(syncer.log.length, 2);
    assert.equal(workers.info('a')!.working, false);
    assert.equal(workers.info('b')!.working, false);
  });

  it('re-queues for resync after success and after a backoff on error', async () => {
    const { clock, syncer, workers, requeued } = setup();
    syncer.failNext = 1;
    workers.updatePod({ type: 'create', pod: pod('a') });
    await clock.advance(1000);
    assert.deepEqual(requeued, [['a', 10_000]]);
    workers.updatePod({ type: 'sync', pod: pod('a') });
    await clock.advance(1000);
    assert.deepEqual(requeued[1], ['a', 60_000]);
  });

  it('cancels a running sync when a kill arrives, then terminates with the grace period', async () => {
    const { clock, syncer, workers } = setup();
    workers.updatePod({ type: 'create', pod: pod('a') });
    await clock.advance(200);
    workers.updatePod({ type: 'kill', pod: pod('a'), kill: { gracePeriodSeconds: 5 } });
    await clock.advance(2000);
    assert.deepEqual(syncer.log, ['sync:1:create', 'cancelled', 'terminating', 'terminated']);
    assert.deepEqual(syncer.graces, [5]);
    assert.equal(workers.info('a')!.finished, true);
    assert.equal(workers.info('a')!.phase, 'terminated');
  });

  it('shortens the grace period with a later delete, never lengthens it', async () => {
    const { clock, syncer, workers } = setup();
    syncer.syncMs = 0;
    workers.updatePod({ type: 'create', pod: pod('a') });
    await clock.advance(10);
    workers.updatePod({ type: 'kill', pod: pod('a'), kill: { gracePeriodSeconds: 20 } });
    workers.updatePod({ type: 'kill', pod: pod('a'), kill: { gracePeriodSeconds: 60 } });
    assert.equal(workers.info('a')!.gracePeriodSeconds, 20);
    workers.updatePod({ type: 'kill', pod: pod('a'), kill: { gracePeriodSeconds: 3 } });
    assert.equal(workers.info('a')!.gracePeriodSeconds, 3);
    await clock.advance(1000);
    assert.deepEqual(syncer.graces, [20, 3], 'the running termination restarts with the shorter grace');
    assert.deepEqual(syncer.log.slice(-4), ['terminating', 'restarted', 'terminating', 'terminated']);
  });

  it('takes the grace period from a pod marked for deletion', async () => {
    const { clock, syncer, workers } = setup();
    syncer.syncMs = 0;
    workers.updatePod({ type: 'update', pod: pod('a', 1, { deletionTimestamp: new Date(), deletionGracePeriodSeconds: 7 }) });
    await clock.advance(1000);
    assert.deepEqual(syncer.log, ['terminating', 'terminated']);
    assert.deepEqual(syncer.graces, [7]);
  });

  it('moves a pod that finished by itself to terminated', async () => {
    const { clock, syncer, workers } = setup();
    syncer.terminal = true;
    workers.updatePod({ type: 'create', pod: pod('a') });
    await clock.advance(3000);
    assert.deepEqual(syncer.log, ['sync:1:create', 'terminating', 'terminated']);
    // later syncs (PLEG events) are ignored
    workers.updatePod({ type: 'sync', pod: pod('a') });
    await clock.advance(3000);
    assert.equal(syncer.log.length, 3);
  });

  it('starts afresh when a finished pod is created again', async () => {
    const { clock, syncer, workers } = setup();
    syncer.syncMs = 0;
    workers.updatePod({ type: 'create', pod: pod('a') });
    workers.updatePod({ type: 'kill', pod: pod('a') });
    await clock.advance(1000);
    assert.equal(workers.info('a')!.finished, true);
    workers.updatePod({ type: 'create', pod: pod('a', 2) });
    await clock.advance(1000);
    assert.equal(syncer.log.at(-1), 'sync:2:create');
    assert.equal(workers.info('a')!.phase, 'sync');
  });

  it('retries a failed termination', async () => {
    const { clock, workers, requeued } = setup();
    let attempts = 0;
    const w = new PodWorkers({
      clock,
      logger: nopLogger,
      requeue: (uid, d) => requeued.push([uid, d]),
      syncer: {
        syncPod: async () => ({}),
        syncTerminatingPod: async () => {
          if (attempts++ === 0) throw new Error('runtime down');
        },
        syncTerminatedPod: async () => {},
      },
    });
    w.updatePod({ type: 'kill', pod: pod('a') });
    await clock.advance(10);
    assert.equal(w.info('a')!.phase, 'terminating');
    assert.deepEqual(requeued, [['a', 10_000]]);
    w.updatePod({ type: 'sync', pod: pod('a') });
    await clock.advance(10);
    assert.equal(w.info('a')!.finished, true);
    void workers;
  });
});
