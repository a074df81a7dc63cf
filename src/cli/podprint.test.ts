import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { humanDuration, podAge, podReadinessGates, podStatusColumns, translateTimestampSince } from './podprint.js';

const NOW = Date.parse('2026-11-24T03:00:00Z');
/** RFC 3339 to the second, `s` seconds before NOW: the form the local API serves. */
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

type Json = Record<string, unknown>;
const running = (startedAgo = 300): Json => ({ running: { startedAt: ago(startedAgo) } });
const waiting = (reason?: string): Json => ({ waiting: reason ? { reason } : {} });
const terminated = (exitCode: number, reason?: string, extra: Json = {}): Json => ({ terminated: { exitCode, ...(reason ? { reason } : {}), startedAt: ago(200), finishedAt: ago(100), ...extra } });
const cs = (name: string, state: Json, ready: boolean, extra: Json = {}): Json => ({ name, image: 'busybox', imageID: '', ready, restartCount: 0, state, ...extra });
const cond = (type: string, status: boolean, reason?: string): Json => ({ type, status: status ? 'True' : 'False', ...(reason ? { reason } : {}) });

/** A pod as the local API's JSON has it (times as strings), typed as V1Pod the way get.ts reads it. */
function pod(o: { containers?: string[]; init?: (string | Json)[]; status?: Json; meta?: Json; spec?: Json }): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(330), ...o.meta },
    spec: {
      nodeName: 'node1',
      containers: (o.containers ?? ['c']).map((name) => ({ name, image: 'busybox' })),
      ...(o.init ? { initContainers: o.init.map((c) => (typeof c === 'string' ? { name: c, image: 'busybox' } : c)) } : {}),
      ...o.spec,
    },
    status: o.status ?? {},
  } as unknown as V1Pod;
}

describe('podStatusColumns (kubectl printPod)', () => {
  const cases: { name: string; pod: V1Pod; want: Partial<ReturnType<typeof podStatusColumns>> }[] = [
    {
      name: 'running and ready',
      pod: pod({ status: { phase: 'Running', podIP: '10.88.0.5', podIPs: [{ ip: '10.88.0.5' }], conditions: [cond('Ready', true)], containerStatuses: [cs('c', running(), true)] } }),
      want: { name: 'p', ready: '1/1', status: 'Running', restarts: '0', age: '5m30s', ip: '10.88.0.5', node: 'node1' },
    },
    {
      name: 'pending, ContainerCreating',
      pod: pod({ containers: ['a', 'b'], status: { phase: 'Pending', containerStatuses: [cs('a', waiting('ContainerCreating'), false), cs('b', waiting('ContainerCreating'), false)] } }),
      want: { ready: '0/2', status: 'ContainerCreating', restarts: '0', ip: '<none>' },
    },
    {
      name: 'pending without container statuses shows the phase',
      pod: pod({ status: { phase: 'Pending' }, spec: { nodeName: '' } }),
      want: { ready: '0/1', status: 'Pending', node: '<none>' },
    },
    {
      name: 'CrashLoopBackOff with restarts and the last one 12s ago',
      pod: pod({
        status: {
          phase: 'Running',
          containerStatuses: [cs('c', waiting('CrashLoopBackOff'), false, { restartCount: 3, lastState: terminated(1, 'Error', { finishedAt: ago(12) }) })],
        },
      }),
      want: { ready: '0/1', status: 'CrashLoopBackOff', restarts: '3 (12s ago)' },
    },
    {
      name: 'restarts take the latest finishedAt over all containers',
      pod: pod({
        containers: ['a', 'b'],
        status: {
          phase: 'Running',
          containerStatuses: [
            cs('a', running(30), true, { restartCount: 1, lastState: terminated(1, 'Error', { finishedAt: ago(200) }) }),
            cs('b', running(30), true, { restartCount: 2, lastState: terminated(137, 'Error', { finishedAt: ago(75) }) }),
          ],
        },
      }),
      want: { ready: '2/2', status: 'Running', restarts: '3 (75s ago)' },
    },
    {
      name: 'restarts without a last termination time show the bare count',
      pod: pod({ status: { phase: 'Running', containerStatuses: [cs('c', running(), true, { restartCount: 4 })] } }),
      want: { restarts: '4' },
    },
    {
      name: 'Completed',
      pod: pod({ status: { phase: 'Succeeded', containerStatuses: [cs('c', terminated(0, 'Completed'), false)] } }),
      want: { ready: '0/1', status: 'Completed' },
    },
    {
      name: 'Error',
      pod: pod({ status: { phase: 'Failed', containerStatuses: [cs('c', terminated(1, 'Error'), false)] } }),
      want: { ready: '0/1', status: 'Error' },
    },
    {
      name: 'OOMKilled',
      pod: pod({ status: { phase: 'Running', containerStatuses: [cs('c', terminated(137, 'OOMKilled'), false, { restartCount: 1, lastState: terminated(137, 'OOMKilled', { finishedAt: ago(65) }) })] } }),
      want: { status: 'OOMKilled', restarts: '1 (65s ago)' },
    },
    {
      name: 'terminated without a reason: ExitCode:N',
      pod: pod({ status: { phase: 'Failed', containerStatuses: [cs('c', terminated(3), false)] } }),
      want: { status: 'ExitCode:3' },
    },
    {
      name: 'terminated without a reason by a signal: Signal:N',
      pod: pod({ status: { phase: 'Failed', containerStatuses: [cs('c', terminated(137, undefined, { signal: 9 }), false)] } }),
      want: { status: 'Signal:9' },
    },
    {
      name: 'containers are read last to first: the first one reporting a reason wins',
      pod: pod({ containers: ['a', 'b'], status: { phase: 'Running', containerStatuses: [cs('a', waiting('ImagePullBackOff'), false), cs('b', waiting('CrashLoopBackOff'), false)] } }),
      want: { status: 'ImagePullBackOff' },
    },
    {
      name: 'Init:0/2 while the first init container runs',
      pod: pod({
        init: ['i1', 'i2'],
        status: {
          phase: 'Pending',
          conditions: [cond('Initialized', false)],
          initContainerStatuses: [cs('i1', running(5), false), cs('i2', waiting('PodInitializing'), false)],
          containerStatuses: [cs('c', waiting('PodInitializing'), false)],
        },
      }),
      want: { ready: '0/1', status: 'Init:0/2', restarts: '0' },
    },
    {
      name: 'Init:1/2 once the first init container succeeded',
      pod: pod({
        init: ['i1', 'i2'],
        status: { phase: 'Pending', initContainerStatuses: [cs('i1', terminated(0, 'Completed'), false), cs('i2', running(5), false)], containerStatuses: [cs('c', waiting('PodInitializing'), false)] },
      }),
      want: { status: 'Init:1/2' },
    },
    {
      name: 'Init:CrashLoopBackOff counts the init container restarts',
      pod: pod({
        init: ['i1', 'i2'],
        status: {
          phase: 'Pending',
          initContainerStatuses: [cs('i1', waiting('CrashLoopBackOff'), false, { restartCount: 2, lastState: terminated(1, 'Error', { finishedAt: ago(30) }) }), cs('i2', waiting('PodInitializing'), false)],
          containerStatuses: [cs('c', waiting('PodInitializing'), false)],
        },
      }),
      want: { ready: '0/1', status: 'Init:CrashLoopBackOff', restarts: '2 (30s ago)' },
    },
    {
      name: 'Init:Error',
      pod: pod({ init: ['i1'], status: { phase: 'Failed', initContainerStatuses: [cs('i1', terminated(1, 'Error'), false)], containerStatuses: [cs('c', waiting('PodInitializing'), false)] } }),
      want: { status: 'Init:Error' },
    },
    {
      name: 'Init:ExitCode:N for an init container terminated without a reason',
      pod: pod({ init: ['i1'], status: { phase: 'Pending', initContainerStatuses: [cs('i1', terminated(2), false)] } }),
      want: { status: 'Init:ExitCode:2' },
    },
    {
      name: 'Init:Signal:N',
      pod: pod({ init: ['i1'], status: { phase: 'Pending', initContainerStatuses: [cs('i1', terminated(143, undefined, { signal: 15 }), false)] } }),
      want: { status: 'Init:Signal:15' },
    },
    {
      name: 'Terminating while deletionTimestamp is set and the phase is not terminal',
      pod: pod({ meta: { deletionTimestamp: ago(3) }, status: { phase: 'Running', containerStatuses: [cs('c', running(), true)] } }),
      want: { ready: '1/1', status: 'Terminating' },
    },
    {
      name: 'a deleted pod that already succeeded stays Completed',
      pod: pod({ meta: { deletionTimestamp: ago(3) }, status: { phase: 'Succeeded', containerStatuses: [cs('c', terminated(0, 'Completed'), false)] } }),
      want: { status: 'Completed' },
    },
    {
      name: 'Unknown for a deleted pod of a lost node',
      pod: pod({ meta: { deletionTimestamp: ago(3) }, status: { phase: 'Running', reason: 'NodeLost', containerStatuses: [cs('c', running(), true)] } }),
      want: { status: 'Unknown' },
    },
    {
      name: 'NotReady: one container completed, one running, pod not Ready',
      pod: pod({ containers: ['a', 'b'], status: { phase: 'Running', conditions: [cond('Ready', false)], containerStatuses: [cs('a', running(), true), cs('b', terminated(0, 'Completed'), false)] } }),
      want: { ready: '1/2', status: 'NotReady' },
    },
    {
      name: 'Running: one container completed, one running, pod Ready',
      pod: pod({ containers: ['a', 'b'], status: { phase: 'Running', conditions: [cond('Ready', true)], containerStatuses: [cs('a', running(), true), cs('b', terminated(0, 'Completed'), false)] } }),
      want: { ready: '1/2', status: 'Running' },
    },
    {
      name: 'a running container that is not ready counts neither as ready nor as running',
      pod: pod({ status: { phase: 'Running', conditions: [cond('Ready', false)], containerStatuses: [cs('c', running(), false)] } }),
      want: { ready: '0/1', status: 'Running' },
    },
    {
      name: 'pod status reason (Evicted) replaces the phase',
      pod: pod({ status: { phase: 'Failed', reason: 'Evicted' } }),
      want: { status: 'Evicted' },
    },
    {
      name: 'SchedulingGated',
      pod: pod({ status: { phase: 'Pending', conditions: [cond('PodScheduled', false, 'SchedulingGated')] } }),
      want: { status: 'SchedulingGated' },
    },
    {
      name: 'sidecar (restartable init container) counts in READY and its restarts stay after init',
      pod: pod({
        init: [{ name: 'side', image: 'busybox', restartPolicy: 'Always' }],
        status: {
          phase: 'Running',
          conditions: [cond('Initialized', true), cond('Ready', true)],
          initContainerStatuses: [cs('side', running(40), true, { started: true, restartCount: 1, lastState: terminated(1, 'Error', { finishedAt: ago(50) }) })],
          containerStatuses: [cs('c', running(), true)],
        },
      }),
      want: { ready: '2/2', status: 'Running', restarts: '1 (50s ago)' },
    },
    {
      name: 'the first podIPs entry is the IP',
      pod: pod({ status: { phase: 'Running', podIP: '10.88.0.9', podIPs: [{ ip: '10.88.0.9' }, { ip: 'fd00::9' }] } }),
      want: { ip: '10.88.0.9' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = podStatusColumns(c.pod, NOW);
      const picked = Object.fromEntries(Object.keys(c.want).map((k) => [k, got[k as keyof typeof got]]));
      assert.deepEqual(picked, c.want);
    });
  }
});

describe('age', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [-1500, '0s'],
    [-2500, '<invalid>'],
    [999, '0s'],
    [45_000, '45s'],
    [119_999, '119s'],
    [120_000, '2m'],
    [192_000, '3m12s'],
    [599_000, '9m59s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [3 * 3600_000, '3h'],
    [(5 * 60 + 3) * 60_000, '5h3m'],
    [8 * 3600_000 - 1, '7h59m'],
    [8 * 3600_000, '8h'],
    [47 * 3600_000, '47h'],
    [48 * 3600_000, '2d'],
    [51 * 3600_000, '2d3h'],
    [8 * 86400_000, '8d'],
    [729 * 86400_000, '729d'],
    [730 * 86400_000, '2y'],
    [740 * 86400_000, '2y10d'],
    [8 * 365 * 86400_000, '8y'],
  ];
  for (const [ms, want] of table) it(`humanDuration(${ms}) = ${want}`, () => assert.equal(humanDuration(ms), want));

  it('translateTimestampSince: <unknown> without a time, strings and Dates alike', () => {
    assert.equal(translateTimestampSince(undefined, NOW), '<unknown>');
    assert.equal(translateTimestampSince(ago(90), NOW), '90s');
    assert.equal(translateTimestampSince(new Date(NOW - 3_600_000), NOW), '60m');
  });

  it('pod age: creationTimestamp, else status.startTime, else the config.seen annotation', () => {
    const base = pod({ status: { startTime: ago(200) }, meta: { creationTimestamp: ago(100), annotations: { 'kubernetes.io/config.seen': '2026-11-24T02:55:00.123456789Z' } } });
    assert.equal(podAge(base, NOW), '100s');
    delete base.metadata!.creationTimestamp;
    assert.equal(podAge(base, NOW), '3m20s');
    delete base.status!.startTime;
    assert.equal(podAge(base, NOW), '4m59s');
    delete base.metadata!.annotations;
    assert.equal(podAge(base, NOW), '<unknown>');
  });
});

describe('podReadinessGates', () => {
  it('<none> without gates, true/all with them', () => {
    assert.equal(podReadinessGates(pod({})), '<none>');
    const p = pod({ spec: { readinessGates: [{ conditionType: 'a' }, { conditionType: 'b' }] }, status: { conditions: [cond('a', true), cond('b', false)] } });
    assert.equal(podReadinessGates(p), '1/2');
  });
});
