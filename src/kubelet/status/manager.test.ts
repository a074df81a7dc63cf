import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { FakeClock, flushMicrotasks } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import type { RuntimePodStatus } from '../container/types.js';
import { generatePodStatus } from './generate.js';
import { StatusManager, checkContainerStateTransition, type PodStatusChange, type StatusSink } from './manager.js';

const T0 = Date.UTC(2026, 0, 1);
const sec = (n: number): number => T0 + n * 1000;

function pod(uid = 'u1', restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always'): V1Pod {
  return { metadata: { name: `p-${uid}`, namespace: 'default', uid }, spec: { containers: [{ name: 'app', image: 'busybox' }], restartPolicy } };
}

function status(o: { phase?: string; ready?: boolean; readyAt?: number; startTime?: number; app?: 'running' | 'exited' | 'waiting' } = {}): V1PodStatus {
  const ready = o.ready ?? false;
  const s: V1PodStatus = {
    phase: o.phase ?? 'Running',
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False', ...(ready ? {} : { reason: 'ContainersNotReady' }) },
      { type: 'PodScheduled', status: 'True' },
    ],
    containerStatuses: [
      {
        name: 'app',
        image: 'busybox',
        imageID: '',
        ready,
        restartCount: 0,
        state:
          o.app === 'exited'
            ? { terminated: { exitCode: 0, reason: 'Completed' } }
            : o.app === 'waiting'
              ? { waiting: { reason: 'ContainerCreating' } }
              : { running: { startedAt: new Date(sec(1)) } },
      },
    ],
  };
  if (o.readyAt !== undefined) s.conditions![0]!.lastTransitionTime = new Date(o.readyAt);
  if (o.startTime !== undefined) s.startTime = new Date(o.startTime);
  return s;
}

function setup(sink?: StatusSink): { clock: FakeClock; m: StatusManager; changes: PodStatusChange[]; logger: MemoryLogger } {
  const clock = new FakeClock(sec(10));
  const logger = new MemoryLogger();
  const m = new StatusManager({ clock, logger, ...(sink ? { sink } : {}) });
  const changes: PodStatusChange[] = [];
  m.onChange((c) => changes.push(c));
  return { clock, m, changes, logger };
}

describe('StatusManager', () => {
  it('stores the first status, with startTime and transition times set, and notifies once', () => {
    const { m, changes } = setup();
    assert.equal(m.setPodStatus(pod(), status()), 'updated');
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.version, 1);
    assert.equal(changes[0]!.oldStatus, undefined);
    assert.equal(changes[0]!.uid, 'u1');
    const s = m.getPodStatus('u1')!;
    assert.deepEqual(s.startTime, new Date(sec(10)));
    assert.deepEqual(s.conditions![0]!.lastTransitionTime, new Date(sec(10)));
    assert.equal(m.getVersion('u1'), 1);
  });

  it('ignores a status that only differs in noise', () => {
    const { m, changes, clock } = setup();
    m.setPodStatus(pod(), status({ readyAt: sec(10) }));
    clock.step(5000);
    assert.equal(m.setPodStatus(pod(), status({ readyAt: sec(15), startTime: sec(14) })), 'unchanged');
    assert.equal(changes.length, 1);
    assert.equal(m.getVersion('u1'), 1);
    assert.deepEqual(m.getPodStatus('u1')!.conditions![0]!.lastTransitionTime, new Date(sec(10)));
  });

  it('notifies real changes with the old status and a new version', () => {
    const { m, changes, clock } = setup();
    m.setPodStatus(pod(), status());
    clock.step(20_000);
    assert.equal(m.setPodStatus(pod(), status({ ready: true })), 'updated');
    assert.equal(changes.length, 2);
    assert.equal(changes[1]!.version, 2);
    assert.equal(changes[1]!.oldStatus?.conditions?.[0]?.status, 'False');
    assert.equal(changes[1]!.status.conditions?.[0]?.status, 'True');
    // the condition changed: a new transition time (the manager's clock when none is given)
    assert.deepEqual(changes[1]!.status.conditions?.[0]?.lastTransitionTime, new Date(sec(30)));
    // the one that did not keeps its time
    assert.deepEqual(changes[1]!.status.conditions?.[1]?.lastTransitionTime, new Date(sec(10)));
  });

  it('a changed condition keeps the transition time it was generated with', () => {
    const { m } = setup();
    m.setPodStatus(pod(), status());
    m.setPodStatus(pod(), status({ ready: true, readyAt: sec(25) }));
    assert.deepEqual(m.getPodStatus('u1')!.conditions![0]!.lastTransitionTime, new Date(sec(25)));
  });

  it('keeps startTime stable across updates', () => {
    const { m, clock } = setup();
    m.setPodStatus(pod(), status({ startTime: sec(3) }));
    clock.step(60_000);
    m.setPodStatus(pod(), status({ ready: true, startTime: sec(70) }));
    assert.deepEqual(m.getPodStatus('u1')!.startTime, new Date(sec(3)));
  });

  it('stores times at second precision', () => {
    const { m } = setup();
    m.setPodStatus(pod(), status({ startTime: sec(3) + 750 }));
    assert.deepEqual(m.getPodStatus('u1')!.startTime, new Date(sec(3)));
  });

  it('refuses to move a terminal pod back to a non-terminal phase', () => {
    const { m, changes, logger } = setup();
    assert.equal(m.setPodStatus(pod(), status({ phase: 'Succeeded', app: 'exited' })), 'updated');
    assert.equal(m.setPodStatus(pod(), status({ phase: 'Running', app: 'exited' })), 'refused');
    assert.equal(m.getPodStatus('u1')!.phase, 'Succeeded');
    assert.equal(changes.length, 1);
    assert.ok(logger.find((r) => r.level === 'warn' && r.fields.newPhase === 'Running'));
  });

  it('refuses a terminal phase from the API status to be left when nothing is cached', () => {
    const { m } = setup();
    const p = pod();
    p.status = { phase: 'Failed' };
    assert.equal(m.setPodStatus(p, status({ phase: 'Running' })), 'refused');
  });

  it('still takes updates of a terminal pod that keep its phase', () => {
    const { m } = setup();
    m.setPodStatus(pod('u1', 'Never'), status({ phase: 'Succeeded', app: 'exited' }));
    const s = status({ phase: 'Succeeded', app: 'exited' });
    s.message = 'done';
    assert.equal(m.setPodStatus(pod('u1', 'Never'), s), 'updated');
  });

  it('refuses a terminated container coming back under restartPolicy Never', () => {
    const { m } = setup();
    m.setPodStatus(pod('u1', 'Never'), status({ app: 'exited' }));
    assert.equal(m.setPodStatus(pod('u1', 'Never'), status({ app: 'running' })), 'refused');
  });

  const transitions: [string, string, number, boolean][] = [
    ['Always allows anything', 'Always', 1, true],
    ['OnFailure allows a failed container to restart', 'OnFailure', 1, true],
    ['OnFailure forbids a succeeded container to restart', 'OnFailure', 0, false],
    ['Never forbids a failed container to restart', 'Never', 1, false],
  ];
  for (const [name, policy, exitCode, ok] of transitions) {
    it(`checkContainerStateTransition: ${name}`, () => {
      const old = [{ name: 'app', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode } } }];
      const next = [{ name: 'app', image: '', imageID: '', ready: false, restartCount: 1, state: { running: {} } }];
      assert.equal(checkContainerStateTransition(old, next, policy) === undefined, ok);
    });
  }

  it('keeps pods apart, forgets deleted ones, and tells the sink', () => {
    const pushed: PodStatusChange[] = [];
    const forgotten: string[] = [];
    const { m } = setup({ push: (c) => void pushed.push(c), forget: (uid) => void forgotten.push(uid) });
    m.setPodStatus(pod('a'), status());
    m.setPodStatus(pod('b'), status({ ready: true }));
    m.setPodStatus(pod('a'), status());
    assert.deepEqual(pushed.map((c) => [c.uid, c.version]), [['a', 1], ['b', 1]]);
    m.deletePod('a');
    m.deletePod('a');
    assert.equal(m.getPodStatus('a'), undefined);
    assert.equal(m.getVersion('a'), 0);
    assert.equal(m.getPodStatus('b')?.conditions?.[0]?.status, 'True');
    assert.deepEqual(forgotten, ['a']);
  });

  it('hands out copies', () => {
    const { m } = setup();
    m.setPodStatus(pod(), status());
    m.getPodStatus('u1')!.phase = 'Failed';
    assert.equal(m.getPodStatus('u1')!.phase, 'Running');
  });

  it('unsubscribes; a throwing listener or sink does not stop the others', async () => {
    const pushed: number[] = [];
    const { m, logger } = setup({
      push: (c) => {
        pushed.push(c.version);
        if (c.version === 2) throw new Error('sync boom');
        if (c.version === 3) return Promise.reject(new Error('async boom'));
      },
    });
    const seen: number[] = [];
    const off = m.onChange(() => {
      throw new Error('listener boom');
    });
    m.onChange((c) => seen.push(c.version));
    m.setPodStatus(pod(), status());
    off();
    m.setPodStatus(pod(), status({ ready: true }));
    m.setPodStatus(pod(), status({ ready: false }));
    await flushMicrotasks();
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(pushed, [1, 2, 3]);
    assert.equal(logger.records.filter((r) => r.msg === 'Pod status listener failed').length, 1);
    assert.ok(logger.find((r) => r.msg === 'Pod status sink failed' && r.fields.err === 'sync boom'));
    assert.ok(logger.find((r) => r.msg === 'Pod status sink failed' && r.fields.err === 'async boom'));
  });

  it('with generatePodStatus: a steady pod is written once, a readiness change once more', () => {
    const { m, changes, clock } = setup();
    const p: V1Pod = {
      metadata: { name: 'web', namespace: 'default', uid: 'w1' },
      spec: { containers: [{ name: 'app', image: 'busybox', readinessProbe: { exec: { command: ['true'] } } }] },
    };
    const rs: RuntimePodStatus = {
      uid: 'w1',
      name: 'web',
      namespace: 'default',
      ips: ['10.88.0.2'],
      sandboxStatuses: [{ id: 's', state: 'ready', createdAt: sec(1), attempt: 0, ip: '10.88.0.2', additionalIps: [], hostNetwork: false }],
      containerStatuses: [
        {
          id: 'c1', name: 'app', state: 'running', createdAt: sec(2), startedAt: sec(2) + 300, finishedAt: 0, exitCode: 0,
          image: 'busybox', imageRef: 'sha256:x', hash: 'h', restartCount: 0, reason: '', message: '', podSandboxId: 's', logPath: '',
        },
      ],
      timestamp: sec(3),
    };
    let ready: boolean | undefined = undefined;
    const sync = (): string =>
      m.setPodStatus(
        p,
        generatePodStatus({ pod: p, runtimeStatus: rs, oldStatus: m.getPodStatus('w1'), reasons: new Map(), readiness: () => ready, hostIP: '192.168.1.1', nowMs: clock.now() }),
      );
    assert.equal(sync(), 'updated');
    for (let i = 0; i < 5; i++) {
      clock.step(1000);
      assert.equal(sync(), 'unchanged');
    }
    ready = true;
    clock.step(1000);
    assert.equal(sync(), 'updated');
    clock.step(1000);
    assert.equal(sync(), 'unchanged');
    assert.equal(changes.length, 2);
    const s = m.getPodStatus('w1')!;
    assert.deepEqual(s.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, new Date(sec(16)));
    assert.deepEqual(s.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime, new Date(sec(10)));
    assert.deepEqual(s.containerStatuses?.[0]?.state?.running?.startedAt, new Date(sec(2)));
    assert.deepEqual(s.startTime, new Date(sec(10)));
  });
});
