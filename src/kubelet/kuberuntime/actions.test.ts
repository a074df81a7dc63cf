import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { hashContainer } from '../../api/hash.js';
import type { RuntimeContainerStatus, RuntimePodStatus, RuntimeSandboxStatus } from '../container/index.js';
import { computePodActions, findNextInitContainerToRun } from './actions.js';

const web: V1Container = { name: 'web', image: 'busybox', command: ['sleep', '3600'] };
const side: V1Container = { name: 'side', image: 'busybox', command: ['sleep', '3600'] };
const init1: V1Container = { name: 'init1', image: 'busybox', command: ['true'] };
const init2: V1Container = { name: 'init2', image: 'busybox', command: ['true'] };

function pod(opts: { restartPolicy?: string; inits?: V1Container[]; containers?: V1Container[]; hostNetwork?: boolean } = {}): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: { restartPolicy: opts.restartPolicy ?? 'Always', initContainers: opts.inits, containers: opts.containers ?? [web, side], hostNetwork: opts.hostNetwork },
  };
}

let seq = 0;
function sandbox(state: 'ready' | 'notready', extra: Partial<RuntimeSandboxStatus> = {}): RuntimeSandboxStatus {
  return { id: `sb${++seq}`, state, createdAt: 1000 - seq, attempt: 0, ip: '10.88.0.2', additionalIps: [], hostNetwork: false, ...extra };
}

function ctr(c: V1Container, state: RuntimeContainerStatus['state'], exitCode = 0, extra: Partial<RuntimeContainerStatus> = {}): RuntimeContainerStatus {
  return {
    id: `${c.name}-${state}-${++seq}`,
    name: c.name,
    state,
    createdAt: 2000 - seq,
    startedAt: 1,
    finishedAt: state === 'exited' ? 2 : 0,
    exitCode,
    image: 'busybox',
    imageRef: 'sha256:x',
    hash: hashContainer(c),
    restartCount: 0,
    reason: '',
    message: '',
    podSandboxId: 'sb',
    logPath: '',
    ...extra,
  };
}

function status(sandboxes: RuntimeSandboxStatus[], containers: RuntimeContainerStatus[]): RuntimePodStatus {
  return { uid: 'u1', name: 'p', namespace: 'default', ips: [], sandboxStatuses: sandboxes, containerStatuses: containers, timestamp: 0 };
}

interface Expect {
  killPod: boolean;
  createSandbox: boolean;
  attempt?: number;
  start: number[];
  kill?: string[];
  init?: string;
}

const cases: [string, V1Pod, RuntimePodStatus, Expect][] = [
  ['a new pod gets a sandbox and all its containers', pod(), status([], []), { killPod: true, createSandbox: true, attempt: 0, start: [0, 1] }],
  ['a running pod needs nothing', pod(), status([sandbox('ready')], [ctr(web, 'running'), ctr(side, 'running')]), { killPod: false, createSandbox: false, start: [] }],
  ['a dead sandbox is recreated with the next attempt', pod(), status([sandbox('notready', { attempt: 2 })], [ctr(web, 'exited', 137)]), { killPod: true, createSandbox: true, attempt: 3, start: [0, 1] }],
  ['a sandbox without an IP is recreated', pod(), status([sandbox('ready', { ip: '' })], []), { killPod: true, createSandbox: true, attempt: 1, start: [0, 1] }],
  ['a host-network change recreates the sandbox', pod({ hostNetwork: true }), status([sandbox('ready')], [ctr(web, 'running')]), { killPod: true, createSandbox: true, attempt: 1, start: [0, 1] }],
  ['two ready sandboxes: start over', pod(), status([sandbox('ready'), sandbox('ready')], []), { killPod: true, createSandbox: true, attempt: 1, start: [0, 1] }],
  ['Never: a finished pod gets no new sandbox', pod({ restartPolicy: 'Never' }), status([sandbox('notready')], [ctr(web, 'exited', 0), ctr(side, 'exited', 1)]), { killPod: true, createSandbox: false, start: [] }],
  ['OnFailure: only failed containers start in a new sandbox', pod({ restartPolicy: 'OnFailure' }), status([sandbox('notready')], [ctr(web, 'exited', 0), ctr(side, 'exited', 1)]), { killPod: true, createSandbox: true, attempt: 1, start: [1] }],
  ['Always: an exited container restarts', pod(), status([sandbox('ready')], [ctr(web, 'exited', 0), ctr(side, 'running')]), { killPod: false, createSandbox: false, start: [0] }],
  ['OnFailure: a succeeded container stays down', pod({ restartPolicy: 'OnFailure' }), status([sandbox('ready')], [ctr(web, 'exited', 0), ctr(side, 'running')]), { killPod: false, createSandbox: false, start: [] }],
  ['OnFailure: a failed container restarts', pod({ restartPolicy: 'OnFailure' }), status([sandbox('ready')], [ctr(web, 'exited', 2), ctr(side, 'running')]), { killPod: false, createSandbox: false, start: [0] }],
  ['Never: all exited means kill the pod', pod({ restartPolicy: 'Never' }), status([sandbox('ready')], [ctr(web, 'exited', 0), ctr(side, 'exited', 1)]), { killPod: true, createSandbox: false, start: [] }],
  ['a changed spec restarts that container', pod({ containers: [{ ...web, image: 'busybox:2' }, side] }), status([sandbox('ready')], [ctr(web, 'running'), ctr(side, 'running')]), { killPod: false, createSandbox: false, start: [0], kill: ['web'] }],
  ['a changed spec restarts even under Never', pod({ restartPolicy: 'Never', containers: [{ ...web, args: ['x'] }, side] }), status([sandbox('ready')], [ctr(web, 'running'), ctr(side, 'running')]), { killPod: false, createSandbox: false, start: [0], kill: ['web'] }],
  ['an unknown container is killed before its restart', pod(), status([sandbox('ready')], [ctr(web, 'unknown'), ctr(side, 'running')]), { killPod: false, createSandbox: false, start: [0], kill: ['web'] }],
  ['a new pod with init containers starts the first init only', pod({ inits: [init1, init2] }), status([], []), { killPod: true, createSandbox: true, attempt: 0, start: [], init: 'init1' }],
  ['init containers run in order', pod({ inits: [init1, init2] }), status([sandbox('ready')], [ctr(init1, 'exited', 0)]), { killPod: false, createSandbox: false, start: [], init: 'init2' }],
  ['a running init container is waited for', pod({ inits: [init1, init2] }), status([sandbox('ready')], [ctr(init1, 'running')]), { killPod: false, createSandbox: false, start: [] }],
  ['a failed init container is retried (Always)', pod({ inits: [init1, init2] }), status([sandbox('ready')], [ctr(init1, 'exited', 1)]), { killPod: false, createSandbox: false, start: [], init: 'init1' }],
  ['a failed init container fails the pod (Never)', pod({ restartPolicy: 'Never', inits: [init1, init2] }), status([sandbox('ready')], [ctr(init1, 'exited', 1)]), { killPod: true, createSandbox: false, start: [] }],
  ['after the last init container, the app containers start', pod({ inits: [init1, init2] }), status([sandbox('ready')], [ctr(init2, 'exited', 0), ctr(init1, 'exited', 0)]), { killPod: false, createSandbox: false, start: [0, 1] }],
];

describe('computePodActions', () => {
  for (const [name, p, st, want] of cases) {
    it(name, () => {
      const a = computePodActions(p, st);
      assert.equal(a.killPod, want.killPod, 'killPod');
      assert.equal(a.createSandbox, want.createSandbox, 'createSandbox');
      if (want.attempt !== undefined) assert.equal(a.attempt, want.attempt, 'attempt');
      assert.deepEqual(a.containersToStart, want.start, 'containersToStart');
      assert.deepEqual([...a.containersToKill.values()].map((k) => k.name), want.kill ?? [], 'containersToKill');
      assert.equal(a.nextInitContainerToStart?.name, want.init, 'nextInitContainerToStart');
    });
  }

  it('restarts a container whose liveness probe failed, with the reason', () => {
    const st = status([sandbox('ready')], [ctr(web, 'running'), ctr(side, 'running')]);
    const webId = st.containerStatuses[0]!.id;
    const a = computePodActions(pod(), st, (id) => (id === webId ? { kind: 'liveness', message: 'Container web failed liveness probe' } : undefined));
    assert.deepEqual(a.containersToStart, [0]);
    const k = a.containersToKill.get(webId)!;
    assert.equal(k.reason, 'Unhealthy');
    assert.match(k.message, /failed liveness probe, will be restarted/);
  });

  it('findNextInitContainerToRun: done once a regular container runs', () => {
    const [, next, done] = findNextInitContainerToRun(pod({ inits: [init1] }), status([sandbox('ready')], [ctr(web, 'running')]));
    assert.equal(next, undefined);
    assert.equal(done, true);
  });
});
