import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parallelize, WorkQueue } from './workqueue.js';

/** A unit of work the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('WorkQueue', () => {
  it('runs at most `workers` keys at once, in the order first added', async () => {
    const gates = new Map<string, ReturnType<typeof gate>>();
    const started: string[] = [];
    const q = new WorkQueue(2, (key) => {
      started.push(key);
      const g = gate();
      gates.set(key, g);
      return g.promise;
    });
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await flush();
    assert.deepEqual(started, ['a', 'b']);
    gates.get('b')!.open();
    await flush();
    assert.deepEqual(started, ['a', 'b', 'c']);
    gates.get('a')!.open();
    gates.get('c')!.open();
    await flush();
    gates.get('d')!.open();
    await q.idle();
    assert.deepEqual(started, ['a', 'b', 'c', 'd']);
    assert.equal(q.length, 0);
  });

  it('a waiting key is queued once; a key added while it runs runs again after, never twice at once', async () => {
    let running = 0;
    let maxSameKey = 0;
    const runs: string[] = [];
    let g = gate();
    const q = new WorkQueue(4, (key) => {
      running++;
      maxSameKey = Math.max(maxSameKey, running);
      runs.push(key);
      return g.promise.then(() => {
        running--;
      });
    });
    q.add('n1');
    await flush();
    q.add('n1');
    q.add('n1');
    await flush();
    assert.deepEqual(runs, ['n1'], 'not handed to a second worker while running');
    const first = g;
    g = gate();
    first.open();
    await flush();
    assert.deepEqual(runs, ['n1', 'n1'], 'run once more for the adds made meanwhile');
    g.open();
    await q.idle();
    assert.equal(maxSameKey, 1);
  });

  it('work that finishes synchronously runs at once; a failure is logged and the queue goes on', async () => {
    const done: string[] = [];
    const q = new WorkQueue(8, (key) => {
      if (key === 'bad') throw new Error('boom');
      done.push(key);
      return undefined;
    });
    q.add('a');
    q.add('bad');
    q.add('b');
    assert.deepEqual(done, ['a', 'b'], 'done within add(), the failure in between');
    await q.idle();
    assert.equal(q.length, 0);
  });

  it('stop: waiting keys are dropped, later adds ignored', async () => {
    const g = gate();
    const runs: string[] = [];
    const q = new WorkQueue(1, (key) => {
      runs.push(key);
      return g.promise;
    });
    q.add('a');
    q.add('b');
    q.stop();
    q.add('c');
    g.open();
    await q.idle();
    assert.deepEqual(runs, ['a']);
  });

  it('rejects a worker count that is not a positive integer', () => {
    assert.throws(() => new WorkQueue(0, () => undefined), /positive integer/);
  });
});

describe('parallelize', () => {
  it('every item once, at most `workers` at a time', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await parallelize(3, [1, 2, 3, 4, 5, 6, 7], async (i) => {
      running++;
      peak = Math.max(peak, running);
      await flush();
      seen.push(i);
      running--;
    });
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(peak, 3);
  });

  it('synchronous items run back to back; an empty list is fine', async () => {
    const seen: number[] = [];
    const p = parallelize(8, [1, 2, 3], (i) => {
      seen.push(i);
      return undefined;
    });
    assert.deepEqual(seen, [1, 2, 3], 'done before the first await');
    await p;
    await parallelize(8, [], () => undefined);
  });
});
