import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import type { RuntimeContainerStatus, RuntimePodStatus, RuntimeSandboxStatus } from '../container/types.js';
import { getPhase } from './phase.js';
import { generatePodStatus, isPodTerminal, sortPodIPs, type GeneratePodStatusInput } from './generate.js';
import { podStatusEqual, normalizePodStatus } from './equal.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const sec = (n: number): number => T0 + n * 1000;

// ---------- builders ----------

type PodOpts = {
  containers?: (string | V1Container)[];
  init?: (string | V1Container)[];
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  hostNetwork?: boolean;
  status?: V1PodStatus;
  deleted?: boolean;
  readinessGates?: string[];
};

function ctr(c: string | V1Container): V1Container {
  return typeof c === 'string' ? { name: c, image: `img-${c}` } : c;
}

function pod(o: PodOpts = {}): V1Pod {
  const p: V1Pod = {
    metadata: { name: 'p', namespace: 'default', uid: 'uid-1' },
    spec: {
      containers: (o.containers ?? ['app']).map(ctr),
      restartPolicy: o.restartPolicy ?? 'Always',
    },
  };
  if (o.init) p.spec!.initContainers = o.init.map(ctr);
  if (o.hostNetwork) p.spec!.hostNetwork = true;
  if (o.status) p.status = o.status;
  if (o.deleted) p.metadata!.deletionTimestamp = new Date(T0);
  if (o.readinessGates) p.spec!.readinessGates = o.readinessGates.map((conditionType) => ({ conditionType }));
  return p;
}

let nextCreated = 1;
function rc(name: string, state: RuntimeContainerStatus['state'], o: Partial<RuntimeContainerStatus> = {}): RuntimeContainerStatus {
  const created = o.createdAt ?? sec(nextCreated++);
  return {
    id: `${name}-${created}`,
    name,
    state,
    createdAt: created,
    startedAt: state === 'created' || state === 'unknown' ? 0 : created + 1000,
    finishedAt: state === 'exited' ? created + 5000 : 0,
    exitCode: 0,
    image: `img-${name}`,
    imageRef: `sha256:${name}`,
    hash: 'h',
    restartCount: 0,
    reason: '',
    message: '',
    podSandboxId: 'sb1',
    logPath: '',
    ...o,
  };
}

function sandbox(o: Partial<RuntimeSandboxStatus> = {}): RuntimeSandboxStatus {
  return { id: 'sb1', state: 'ready', createdAt: T0, attempt: 0, ip: '10.88.0.5', additionalIps: [], hostNetwork: false, ...o };
}

function rps(containers: RuntimeContainerStatus[], o: Partial<RuntimePodStatus> = {}): RuntimePodStatus {
  return { uid: 'uid-1', name: 'p', namespace: 'default', ips: ['10.88.0.5'], sandboxStatuses: [sandbox()], containerStatuses: containers, timestamp: T0, ...o };
}

function gen(p: V1Pod, rs: RuntimePodStatus, o: Partial<GeneratePodStatusInput> = {}): V1PodStatus {
  return generatePodStatus({
    pod: p,
    runtimeStatus: rs,
    reasons: new Map(),
    readiness: () => undefined,
    hostIP: '192.168.1.10',
    nowMs: sec(100),
    ...o,
  });
}

function cs(s: V1PodStatus, name: string): V1ContainerStatus {
  const c = [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])].find((x) => x.name === name);
  assert.ok(c, `no status for ${name}`);
  return c;
}

function cond(s: V1PodStatus, type: string): V1PodCondition {
  const c = s.conditions?.find((x) => x.type === type);
  assert.ok(c, `no condition ${type}`);
  return c;
}

// API container statuses for the phase table
const running = (name: string): V1ContainerStatus => ({ name, image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } });
const exited = (name: string, exitCode: number): V1ContainerStatus => ({ name, image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode } } });
const waiting = (name: string): V1ContainerStatus => ({ name, image: '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } });
const crashing = (name: string, exitCode: number): V1ContainerStatus => ({
  name,
  image: '',
  imageID: '',
  ready: false,
  restartCount: 3,
  state: { waiting: { reason: 'CrashLoopBackOff' } },
  lastState: { terminated: { exitCode } },
});
const noState = (name: string): V1ContainerStatus => ({ name, image: '', imageID: '', ready: false, restartCount: 0 });

// ---------- phase ----------

describe('getPhase', () => {
  type Row = [string, PodOpts, V1ContainerStatus[], string, boolean?];
  const P = (restartPolicy: 'Always' | 'OnFailure' | 'Never', init = false, containers = ['a']): PodOpts => ({ restartPolicy, containers, ...(init ? { init: ['i'] } : {}) });
  const rows: Row[] = [];
  for (const rp of ['Always', 'OnFailure', 'Never'] as const) {
    rows.push(
      [`${rp}: init running`, P(rp, true), [running('i'), waiting('a')], 'Pending'],
      [`${rp}: init not started`, P(rp, true), [waiting('i'), waiting('a')], 'Pending'],
      [`${rp}: init failed`, P(rp, true), [exited('i', 1), waiting('a')], rp === 'Never' ? 'Failed' : 'Pending'],
      [`${rp}: init crash-looping`, P(rp, true), [crashing('i', 2), waiting('a')], rp === 'Never' ? 'Failed' : 'Pending'],
      [`${rp}: init succeeded, container waiting`, P(rp, true), [exited('i', 0), waiting('a')], 'Pending'],
      [`${rp}: init succeeded, container running`, P(rp, true), [exited('i', 0), running('a')], 'Running'],
      [`${rp}: all running`, P(rp, false, ['a', 'b']), [running('a'), running('b')], 'Running'],
      [`${rp}: one running, one waiting`, P(rp, false, ['a', 'b']), [running('a'), waiting('b')], 'Pending'],
      [`${rp}: one running, one exited`, P(rp, false, ['a', 'b']), [running('a'), exited('b', 1)], 'Running'],
      [`${rp}: all succeeded`, P(rp, false, ['a', 'b']), [exited('a', 0), exited('b', 0)], rp === 'Always' ? 'Running' : 'Succeeded'],
      [`${rp}: one failed`, P(rp, false, ['a', 'b']), [exited('a', 0), exited('b', 1)], rp === 'Never' ? 'Failed' : 'Running'],
      [`${rp}: crash-looping`, P(rp), [crashing('a', 1)], rp === 'Never' ? 'Failed' : 'Running'],
      [`${rp}: all succeeded, pod terminal`, P(rp, false, ['a', 'b']), [exited('a', 0), exited('b', 0)], 'Succeeded', true],
      [`${rp}: one failed, pod terminal`, P(rp, false, ['a', 'b']), [exited('a', 0), exited('b', 137)], 'Failed', true],
      [`${rp}: running, pod terminal (still stopping)`, P(rp), [running('a')], 'Running', true],
    );
  }
  rows.push(
    ['no status for a container', P('Always', false, ['a', 'b']), [running('a')], 'Pending'],
    ['status without any state', P('Always'), [noState('a')], 'Pending'],
    ['no statuses at all', P('Never'), [], 'Pending'],
    ['init failed (Never) wins over running containers', P('Never', true), [exited('i', 1), running('a')], 'Failed'],
  );
  for (const [name, opts, statuses, want, terminal] of rows) {
    it(name, () => {
      assert.equal(getPhase(pod(opts), statuses, terminal ?? false), want);
    });
  }
});

describe('generatePodStatus: phase from the runtime', () => {
  const rows: [string, PodOpts, RuntimeContainerStatus[], string][] = [
    ['nothing created yet', {}, [], 'Pending'],
    ['running', {}, [rc('app', 'running')], 'Running'],
    ['exited 0, Never', { restartPolicy: 'Never' }, [rc('app', 'exited')], 'Succeeded'],
    ['exited 1, Never', { restartPolicy: 'Never' }, [rc('app', 'exited', { exitCode: 1 })], 'Failed'],
    ['exited 1, OnFailure', { restartPolicy: 'OnFailure' }, [rc('app', 'exited', { exitCode: 1 })], 'Running'],
    ['exited 0, Always', {}, [rc('app', 'exited')], 'Running'],
    ['init running', { init: ['i'] }, [rc('i', 'running')], 'Pending'],
    ['init exited 1, Never', { init: ['i'], restartPolicy: 'Never' }, [rc('i', 'exited', { exitCode: 1 })], 'Failed'],
    ['init done, app running', { init: ['i'] }, [rc('i', 'exited'), rc('app', 'running')], 'Running'],
    ['created, not started', {}, [rc('app', 'created')], 'Pending'],
  ];
  for (const [name, opts, containers, want] of rows) {
    it(name, () => {
      assert.equal(gen(pod(opts), rps(containers)).phase, want);
    });
  }

  it('a crash-looping container with restartPolicy Always is Running', () => {
    const s = gen(pod(), rps([rc('app', 'exited', { exitCode: 1, restartCount: 4 }), rc('app', 'exited', { exitCode: 1, createdAt: sec(0) })]), {
      reasons: new Map([['app', { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=app pod=p_default(uid-1)' }]]),
    });
    assert.equal(s.phase, 'Running');
    assert.equal(cs(s, 'app').state?.waiting?.reason, 'CrashLoopBackOff');
  });

  it('podIsTerminal makes a stopped Always pod terminal', () => {
    const rs = rps([rc('app', 'exited', { exitCode: 143 })]);
    assert.equal(gen(pod(), rs).phase, 'Running');
    assert.equal(gen(pod(), rs, { podIsTerminal: true }).phase, 'Failed');
  });
});

describe('generatePodStatus: terminal phase is sticky', () => {
  it('never goes back from Succeeded (old status)', () => {
    const old: V1PodStatus = { phase: 'Succeeded', reason: 'R', message: 'M' };
    const s = gen(pod(), rps([rc('app', 'running')]), { oldStatus: old });
    assert.equal(s.phase, 'Succeeded');
    assert.equal(s.reason, 'R');
    assert.equal(s.message, 'M');
    assert.equal(cond(s, 'Ready').reason, 'PodCompleted');
  });
  it('never goes back from Failed (API status)', () => {
    const s = gen(pod({ status: { phase: 'Failed', reason: 'Evicted', message: 'low on memory' } }), rps([]));
    assert.equal(s.phase, 'Failed');
    assert.equal(s.reason, 'Evicted');
    assert.equal(cond(s, 'Ready').reason, 'PodFailed');
  });
  it('the reason goes away with a phase change', () => {
    const s = gen(pod(), rps([rc('app', 'running')]), { oldStatus: { phase: 'Pending', reason: 'X' } });
    assert.equal(s.phase, 'Running');
    assert.equal(s.reason, undefined);
  });
  it('isPodTerminal', () => {
    assert.equal(isPodTerminal({ phase: 'Succeeded' }), true);
    assert.equal(isPodTerminal({ phase: 'Failed' }), true);
    assert.equal(isPodTerminal({ phase: 'Running' }), false);
    assert.equal(isPodTerminal({}), false);
    assert.equal(isPodTerminal(undefined), false);
  });
});

// ---------- container states ----------

describe('generatePodStatus: container states', () => {
  it('never started: waiting ContainerCreating', () => {
    const c = cs(gen(pod(), rps([])), 'app');
    assert.deepEqual(c, { name: 'app', image: 'img-app', imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } });
  });

  it('running: startedAt, IDs, ready and started without probes', () => {
    const r = rc('app', 'running', { createdAt: sec(10), restartCount: 2 });
    const c = cs(gen(pod(), rps([r])), 'app');
    assert.deepEqual(c, {
      name: 'app',
      image: 'img-app',
      imageID: 'sha256:app',
      containerID: `containerd://${r.id}`,
      restartCount: 2,
      ready: true,
      started: true,
      state: { running: { startedAt: new Date(sec(11)) } },
    });
  });

  it('runtimeName prefixes the container ID', () => {
    const r = rc('app', 'running');
    assert.equal(cs(gen(pod(), rps([r]), { runtimeName: 'cri-o' }), 'app').containerID, `cri-o://${r.id}`);
  });

  const exitRows: [string, Partial<RuntimeContainerStatus>, { exitCode: number; reason: string; message?: string }][] = [
    ['exited 0 -> Completed', { exitCode: 0 }, { exitCode: 0, reason: 'Completed' }],
    ['exited 1 -> Error', { exitCode: 1 }, { exitCode: 1, reason: 'Error' }],
    ['exited 137 OOMKilled', { exitCode: 137, reason: 'OOMKilled' }, { exitCode: 137, reason: 'OOMKilled' }],
    ['exited 128 StartError with message', { exitCode: 128, reason: 'StartError', message: 'exec: "nope": not found' }, { exitCode: 128, reason: 'StartError', message: 'exec: "nope": not found' }],
  ];
  for (const [name, o, want] of exitRows) {
    it(name, () => {
      const r = rc('app', 'exited', { createdAt: sec(20), ...o });
      const c = cs(gen(pod({ restartPolicy: 'Never' }), rps([r])), 'app');
      assert.deepEqual(c.state, {
        terminated: { ...want, startedAt: new Date(sec(21)), finishedAt: new Date(sec(25)), containerID: `containerd://${r.id}` },
      });
      assert.equal(c.ready, false);
      assert.equal(c.started, false);
      assert.equal(c.lastState, undefined);
    });
  }

  it('crash loop: waiting CrashLoopBackOff with the last exit as lastState', () => {
    const newest = rc('app', 'exited', { createdAt: sec(50), exitCode: 1, restartCount: 3 });
    const previous = rc('app', 'exited', { createdAt: sec(30), exitCode: 2, restartCount: 2 });
    const msg = 'back-off 40s restarting failed container=app pod=p_default(uid-1)';
    const c = cs(gen(pod(), rps([newest, previous]), { reasons: new Map([['app', { reason: 'CrashLoopBackOff', message: msg }]]) }), 'app');
    assert.deepEqual(c.state, { waiting: { reason: 'CrashLoopBackOff', message: msg } });
    assert.equal(c.lastState?.terminated?.exitCode, 1);
    assert.equal(c.lastState?.terminated?.containerID, `containerd://${newest.id}`);
    assert.equal(c.restartCount, 3);
    assert.equal(c.containerID, `containerd://${newest.id}`);
    assert.equal(c.ready, false);
  });

  it('a reason is not shown for a container that will not be restarted (Never)', () => {
    const r = rc('app', 'exited', { exitCode: 1 });
    const c = cs(gen(pod({ restartPolicy: 'Never' }), rps([r]), { reasons: new Map([['app', { reason: 'CrashLoopBackOff', message: 'm' }]]) }), 'app');
    assert.equal(c.state?.terminated?.exitCode, 1);
  });

  it('a reason is not shown for a deleted pod', () => {
    const r = rc('app', 'exited', { exitCode: 1 });
    const c = cs(gen(pod({ deleted: true }), rps([r]), { reasons: new Map([['app', { reason: 'CrashLoopBackOff', message: 'm' }]]) }), 'app');
    assert.equal(c.state?.terminated?.exitCode, 1);
  });

  const waitingRows = ['ErrImagePull', 'ImagePullBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError'];
  for (const reason of waitingRows) {
    it(`never started, ${reason}`, () => {
      const c = cs(gen(pod(), rps([]), { reasons: new Map([['app', { reason, message: `why ${reason}` }]]) }), 'app');
      assert.deepEqual(c.state, { waiting: { reason, message: `why ${reason}` } });
      assert.equal(c.lastState, undefined);
    });
  }

  it('created but not started: waiting without a reason', () => {
    const c = cs(gen(pod(), rps([rc('app', 'created')])), 'app');
    assert.deepEqual(c.state, { waiting: {} });
    assert.equal(c.started, false);
    assert.equal(c.ready, false);
  });

  it('created but not started, with a start failure reason', () => {
    const c = cs(gen(pod(), rps([rc('app', 'created')]), { reasons: new Map([['app', { reason: 'RunContainerError', message: 'boom' }]]) }), 'app');
    assert.deepEqual(c.state, { waiting: { reason: 'RunContainerError', message: 'boom' } });
  });

  it('unknown, never seen running: waiting', () => {
    const c = cs(gen(pod(), rps([rc('app', 'unknown')])), 'app');
    assert.deepEqual(c.state, { waiting: {} });
  });

  it('unknown after running: terminated ContainerStatusUnknown, restart counted', () => {
    const r = rc('app', 'unknown', { restartCount: 1 });
    const old: V1PodStatus = { phase: 'Running', containerStatuses: [{ ...running('app'), restartCount: 1, containerID: `containerd://${r.id}` }] };
    const c = cs(gen(pod({ restartPolicy: 'Never' }), rps([r]), { oldStatus: old }), 'app');
    assert.equal(c.state?.terminated?.reason, 'ContainerStatusUnknown');
    assert.equal(c.state?.terminated?.exitCode, 137);
    assert.equal(c.restartCount, 2);
  });

  it('gone from the runtime after running: waiting, last state ContainerStatusUnknown', () => {
    const old: V1PodStatus = { phase: 'Running', containerStatuses: [{ ...running('app'), restartCount: 1 }] };
    const s = gen(pod(), rps([]), { oldStatus: old });
    const c = cs(s, 'app');
    assert.equal(c.state?.waiting?.reason, 'ContainerCreating');
    assert.equal(c.lastState?.terminated?.reason, 'ContainerStatusUnknown');
    assert.equal(c.restartCount, 2);
    assert.equal(s.phase, 'Running');
  });

  it('gone from the runtime after terminating: the old terminated status stays', () => {
    const old: V1PodStatus = { phase: 'Succeeded', containerStatuses: [{ ...exited('app', 0), containerID: 'containerd://x' }] };
    const c = cs(gen(pod({ restartPolicy: 'Never' }), rps([]), { oldStatus: old }), 'app');
    assert.deepEqual(c.state, { terminated: { exitCode: 0 } });
    assert.equal(c.containerID, 'containerd://x');
  });

  it('running after a restart: lastState from the previous runtime container', () => {
    const prev = rc('app', 'exited', { createdAt: sec(1), exitCode: 137, reason: 'OOMKilled' });
    const cur = rc('app', 'running', { createdAt: sec(9), restartCount: 1 });
    const c = cs(gen(pod(), rps([cur, prev])), 'app');
    assert.ok(c.state?.running);
    assert.equal(c.lastState?.terminated?.reason, 'OOMKilled');
    assert.equal(c.lastState?.terminated?.containerID, `containerd://${prev.id}`);
    assert.equal(c.restartCount, 1);
  });

  it('uses creation time, not list order, to find the newest container', () => {
    const prev = rc('app', 'exited', { createdAt: sec(1), exitCode: 1 });
    const cur = rc('app', 'running', { createdAt: sec(9), restartCount: 1 });
    const c = cs(gen(pod(), rps([prev, cur])), 'app');
    assert.ok(c.state?.running);
    assert.equal(c.lastState?.terminated?.exitCode, 1);
  });

  it('lastState carried from the old status when the runtime no longer has the previous container', () => {
    const cur = rc('app', 'running', { restartCount: 1 });
    const lastState = { terminated: { exitCode: 3, reason: 'Error', containerID: 'containerd://gone' } };
    const old: V1PodStatus = { containerStatuses: [{ ...running('app'), containerID: `containerd://${cur.id}`, restartCount: 1, lastState }] };
    const c = cs(gen(pod(), rps([cur]), { oldStatus: old }), 'app');
    assert.deepEqual(c.lastState, lastState);
  });

  it('the old terminated state becomes lastState when a new container replaced a collected one', () => {
    const cur = rc('app', 'running', { restartCount: 1 });
    const old: V1PodStatus = { containerStatuses: [{ ...exited('app', 4), containerID: 'containerd://gone' }] };
    const c = cs(gen(pod(), rps([cur]), { oldStatus: old }), 'app');
    assert.equal(c.lastState?.terminated?.exitCode, 4);
  });

  it('readiness probe: ready only on a success result', () => {
    const p = pod({ containers: [{ name: 'app', image: 'i', readinessProbe: { exec: { command: ['true'] } } }] });
    const r = rc('app', 'running');
    assert.equal(cs(gen(p, rps([r]), { readiness: () => undefined }), 'app').ready, false);
    assert.equal(cs(gen(p, rps([r]), { readiness: () => false }), 'app').ready, false);
    assert.equal(cs(gen(p, rps([r]), { readiness: (id) => id === r.id }), 'app').ready, true);
  });

  it('startup probe: started (and so ready) only on a success result', () => {
    const p = pod({ containers: [{ name: 'app', image: 'i', startupProbe: { exec: { command: ['true'] } } }] });
    const r = rc('app', 'running');
    const before = cs(gen(p, rps([r])), 'app');
    assert.equal(before.started, false);
    assert.equal(before.ready, false);
    const after = cs(gen(p, rps([r]), { started: (id) => id === r.id }), 'app');
    assert.equal(after.started, true);
    assert.equal(after.ready, true);
  });

  it('statuses come in spec order, one per spec container', () => {
    const s = gen(pod({ containers: ['zeta', 'alpha', 'mid'] }), rps([rc('alpha', 'running'), rc('other', 'running')]));
    assert.deepEqual(s.containerStatuses?.map((c) => c.name), ['zeta', 'alpha', 'mid']);
  });

  it('no initContainerStatuses for a pod without init containers', () => {
    assert.equal(gen(pod(), rps([])).initContainerStatuses, undefined);
  });
});

describe('generatePodStatus: init containers', () => {
  it('before init: init and regular containers wait with PodInitializing', () => {
    const s = gen(pod({ init: ['i1', 'i2'] }), rps([]));
    assert.deepEqual(s.initContainerStatuses?.map((c) => c.state?.waiting?.reason), ['PodInitializing', 'PodInitializing']);
    assert.equal(cs(s, 'app').state?.waiting?.reason, 'PodInitializing');
  });

  it('init done, app not created yet: ContainerCreating', () => {
    const s = gen(pod({ init: ['i'] }), rps([rc('i', 'exited')]));
    assert.equal(cs(s, 'i').ready, true);
    assert.equal(cs(s, 'i').state?.terminated?.reason, 'Completed');
    assert.equal(cs(s, 'app').state?.waiting?.reason, 'ContainerCreating');
  });

  it('an init container that exited 0 is not shown waiting even with a reason', () => {
    const s = gen(pod({ init: ['i'] }), rps([rc('i', 'exited')]), { reasons: new Map([['i', { reason: 'CrashLoopBackOff', message: 'm' }]]) });
    assert.equal(cs(s, 'i').state?.terminated?.exitCode, 0);
  });

  it('a failing init container crash-loops (Always)', () => {
    const s = gen(pod({ init: ['i'] }), rps([rc('i', 'exited', { exitCode: 1, restartCount: 2 })]), {
      reasons: new Map([['i', { reason: 'CrashLoopBackOff', message: 'm' }]]),
    });
    const i = cs(s, 'i');
    assert.equal(i.state?.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(i.lastState?.terminated?.exitCode, 1);
    assert.equal(i.ready, false);
    assert.equal(s.phase, 'Pending');
    assert.equal(cond(s, 'Initialized').status, 'False');
  });

  it('an init container the runtime lost, with regular containers created: Completed', () => {
    const s = gen(pod({ init: ['i'] }), rps([rc('app', 'running')]));
    const i = cs(s, 'i');
    assert.equal(i.state?.terminated?.reason, 'Completed');
    assert.equal(i.ready, true);
    assert.equal(s.phase, 'Running');
    assert.equal(cond(s, 'Initialized').status, 'True');
  });

  it('a running init container is started but not ready', () => {
    const i = cs(gen(pod({ init: ['i'] }), rps([rc('i', 'running')])), 'i');
    assert.equal(i.started, true);
    assert.equal(i.ready, false);
  });
});

// ---------- conditions ----------

describe('generatePodStatus: conditions', () => {
  it('all ready: every kubelet condition True, in upstream order', () => {
    const s = gen(pod(), rps([rc('app', 'running')]));
    assert.deepEqual(
      s.conditions?.map((c) => [c.type, c.status]),
      [
        ['Initialized', 'True'],
        ['Ready', 'True'],
        ['ContainersReady', 'True'],
        ['PodScheduled', 'True'],
      ],
    );
    for (const c of s.conditions ?? []) assert.deepEqual(c.lastTransitionTime, new Date(sec(100)));
  });

  it('unready containers are named', () => {
    const s = gen(pod({ containers: ['a', 'b', 'c'] }), rps([rc('b', 'running')]));
    for (const type of ['Ready', 'ContainersReady']) {
      const c = cond(s, type);
      assert.equal(c.status, 'False');
      assert.equal(c.reason, 'ContainersNotReady');
      assert.equal(c.message, 'containers with unready status: [a c]');
    }
  });

  it('incomplete init containers are named', () => {
    const s = gen(pod({ init: ['i1', 'i2', 'i3'] }), rps([rc('i1', 'exited'), rc('i2', 'running')]));
    const c = cond(s, 'Initialized');
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'ContainersNotInitialized');
    assert.equal(c.message, 'containers with incomplete status: [i2 i3]');
  });

  it('Succeeded: PodCompleted', () => {
    const s = gen(pod({ restartPolicy: 'Never', init: ['i'] }), rps([rc('i', 'exited'), rc('app', 'exited')]));
    assert.equal(s.phase, 'Succeeded');
    assert.deepEqual([cond(s, 'Ready').status, cond(s, 'Ready').reason], ['False', 'PodCompleted']);
    assert.deepEqual([cond(s, 'ContainersReady').status, cond(s, 'ContainersReady').reason], ['False', 'PodCompleted']);
    assert.deepEqual([cond(s, 'Initialized').status, cond(s, 'Initialized').reason], ['True', 'PodCompleted']);
  });

  it('Failed: PodFailed', () => {
    const s = gen(pod({ restartPolicy: 'Never' }), rps([rc('app', 'exited', { exitCode: 2 })]));
    assert.equal(s.phase, 'Failed');
    assert.equal(cond(s, 'Ready').reason, 'PodFailed');
    assert.equal(cond(s, 'ContainersReady').reason, 'PodFailed');
  });

  it('readiness gates: Ready waits for their conditions', () => {
    const r = rps([rc('app', 'running')]);
    const missing = gen(pod({ readinessGates: ['example.com/lb'] }), r);
    assert.equal(cond(missing, 'ContainersReady').status, 'True');
    assert.equal(cond(missing, 'Ready').status, 'False');
    assert.equal(cond(missing, 'Ready').reason, 'ReadinessGatesNotReady');
    assert.equal(cond(missing, 'Ready').message, 'corresponding condition of pod readiness gate "example.com/lb" does not exist.');
    const gateFalse = gen(pod({ readinessGates: ['example.com/lb'], status: { conditions: [{ type: 'example.com/lb', status: 'False' }] } }), r);
    assert.equal(cond(gateFalse, 'Ready').message, 'the status of pod readiness gate "example.com/lb" is not "True", but False');
    const gateTrue = gen(pod({ readinessGates: ['example.com/lb'], status: { conditions: [{ type: 'example.com/lb', status: 'True' }] } }), r);
    assert.equal(cond(gateTrue, 'Ready').status, 'True');
    assert.equal(gateTrue.conditions?.[0]?.type, 'example.com/lb');
  });

  it('kubelet conditions in the API status are regenerated, not copied', () => {
    const s = gen(pod({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'stale' }] } }), rps([]));
    assert.equal(s.conditions?.filter((c) => c.type === 'Ready').length, 1);
    assert.equal(cond(s, 'Ready').status, 'False');
  });

  it('DisruptionTarget is carried from the old status', () => {
    const dt: V1PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', lastTransitionTime: new Date(sec(5)) };
    const s = gen(pod(), rps([]), { oldStatus: { conditions: [dt] } });
    assert.deepEqual(cond(s, 'DisruptionTarget'), dt);
  });

  it('transition times change only when the status changes, across generations', () => {
    const p = pod({ containers: [{ name: 'app', image: 'i', readinessProbe: { exec: { command: ['true'] } } }] });
    const r = rc('app', 'running');
    let ready = false;
    const readiness = (): boolean => ready;
    const s1 = gen(p, rps([r]), { nowMs: sec(100), readiness });
    const s2 = gen(p, rps([r]), { nowMs: sec(200), readiness, oldStatus: s1 });
    for (const type of ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
      assert.deepEqual(cond(s2, type).lastTransitionTime, new Date(sec(100)), type);
    }
    assert.ok(podStatusEqual(s1, s2));
    ready = true;
    const s3 = gen(p, rps([r]), { nowMs: sec(300), readiness, oldStatus: s2 });
    assert.deepEqual(cond(s3, 'Ready').lastTransitionTime, new Date(sec(300)));
    assert.deepEqual(cond(s3, 'ContainersReady').lastTransitionTime, new Date(sec(300)));
    assert.deepEqual(cond(s3, 'Initialized').lastTransitionTime, new Date(sec(100)));
    assert.deepEqual(cond(s3, 'PodScheduled').lastTransitionTime, new Date(sec(100)));
    assert.ok(!podStatusEqual(s2, s3));
    for (const c of s3.conditions ?? []) assert.equal(c.lastProbeTime, undefined);
  });
});

// ---------- IPs, host, start time, QoS ----------

describe('generatePodStatus: pod IPs, host IP, startTime, qosClass', () => {
  it('pod IP from the runtime, host IP given', () => {
    const s = gen(pod(), rps([]));
    assert.equal(s.podIP, '10.88.0.5');
    assert.deepEqual(s.podIPs, [{ ip: '10.88.0.5' }]);
    assert.equal(s.hostIP, '192.168.1.10');
    assert.deepEqual(s.hostIPs, [{ ip: '192.168.1.10' }]);
  });

  it('dual stack: the host family first, one of each', () => {
    const rs = rps([], { ips: ['fd00::5', '10.88.0.5', '10.88.0.6', 'fd00::6'] });
    assert.deepEqual(gen(pod(), rs).podIPs, [{ ip: '10.88.0.5' }, { ip: 'fd00::5' }]);
    assert.deepEqual(gen(pod(), rs, { hostIP: 'fd00::1' }).podIPs, [{ ip: 'fd00::5' }, { ip: '10.88.0.5' }]);
  });

  it('sortPodIPs drops what is not an IP', () => {
    assert.deepEqual(sortPodIPs(['garbage', '', '10.0.0.1'], ''), ['10.0.0.1']);
  });

  it('falls back to the newest ready sandbox', () => {
    const rs = rps([], { ips: [], sandboxStatuses: [sandbox({ ip: '10.88.0.9', additionalIps: ['fd00::9'] }), sandbox({ id: 'old', ip: '10.88.0.1' })] });
    assert.deepEqual(gen(pod(), rs).podIPs, [{ ip: '10.88.0.9' }, { ip: 'fd00::9' }]);
  });

  it('keeps the old IPs once the sandbox is gone', () => {
    const old: V1PodStatus = { podIP: '10.88.0.7', podIPs: [{ ip: '10.88.0.7' }] };
    const gone = gen(pod(), rps([], { ips: [], sandboxStatuses: [] }), { oldStatus: old });
    assert.equal(gone.podIP, '10.88.0.7');
    const stopped = gen(pod(), rps([], { ips: [], sandboxStatuses: [sandbox({ state: 'notready', ip: '' })] }), { oldStatus: old });
    assert.equal(stopped.podIP, '10.88.0.7');
  });

  it('no IP before a sandbox exists', () => {
    const s = gen(pod(), rps([], { ips: [], sandboxStatuses: [] }));
    assert.equal(s.podIP, undefined);
    assert.equal(s.podIPs, undefined);
  });

  it('host-network pods get the host IP', () => {
    const rs = rps([], { ips: [], sandboxStatuses: [sandbox({ hostNetwork: true, ip: '' })] });
    const s = gen(pod({ hostNetwork: true }), rs);
    assert.equal(s.podIP, '192.168.1.10');
    assert.deepEqual(s.podIPs, [{ ip: '192.168.1.10' }]);
  });

  it('startTime: now the first time, then kept', () => {
    const s1 = gen(pod(), rps([]), { nowMs: sec(100) });
    assert.deepEqual(s1.startTime, new Date(sec(100)));
    const s2 = gen(pod(), rps([rc('app', 'running')]), { nowMs: sec(500), oldStatus: s1 });
    assert.deepEqual(s2.startTime, new Date(sec(100)));
    const fromApi = gen(pod({ status: { startTime: new Date(sec(7)) } }), rps([]));
    assert.deepEqual(fromApi.startTime, new Date(sec(7)));
  });

  it('qosClass: computed for a pod without resources, kept from the API status', () => {
    assert.equal(gen(pod(), rps([])).qosClass, 'BestEffort');
    assert.equal(gen(pod({ status: { qosClass: 'Guaranteed' } }), rps([])).qosClass, 'Guaranteed');
  });
});

// ---------- equality ----------

describe('podStatusEqual', () => {
  const base = (): V1PodStatus => ({
    phase: 'Running',
    startTime: new Date(sec(1)),
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: new Date(sec(1)) },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: new Date(sec(1)) },
    ],
    containerStatuses: [{ ...running('a'), state: { running: { startedAt: new Date(sec(2)) } } }],
  });
  const rows: [string, (s: V1PodStatus) => void, boolean][] = [
    ['identical', () => {}, true],
    ['other transition and probe times', (s) => {
      s.conditions![0]!.lastTransitionTime = new Date(sec(50));
      s.conditions![0]!.lastProbeTime = new Date(sec(60));
    }, true],
    ['conditions in another order', (s) => s.conditions!.reverse(), true],
    ['sub-second time difference', (s) => (s.startTime = new Date(sec(1) + 999)), true],
    ['empty list vs none', (s) => (s.podIPs = []), true],
    ['undefined field vs absent', (s) => (s.reason = undefined), true],
    ['condition status', (s) => (s.conditions![0]!.status = 'False'), false],
    ['condition reason', (s) => (s.conditions![0]!.reason = 'X'), false],
    ['condition message', (s) => (s.conditions![0]!.message = 'X'), false],
    ['a condition fewer', (s) => s.conditions!.pop(), false],
    ['phase', (s) => (s.phase = 'Failed'), false],
    ['startTime by a second', (s) => (s.startTime = new Date(sec(2))), false],
    ['container ready', (s) => (s.containerStatuses![0]!.ready = false), false],
    ['container startedAt', (s) => (s.containerStatuses![0]!.state = { running: { startedAt: new Date(sec(3)) } }), false],
    ['pod IP', (s) => (s.podIP = '10.0.0.1'), false],
  ];
  for (const [name, mutate, want] of rows) {
    it(name, () => {
      const b = base();
      mutate(b);
      assert.equal(podStatusEqual(base(), b), want);
    });
  }
  it('undefined statuses', () => {
    assert.equal(podStatusEqual(undefined, undefined), true);
    assert.equal(podStatusEqual(base(), undefined), false);
  });
  it('normalizePodStatus truncates times to seconds and copies', () => {
    const s = base();
    s.startTime = new Date(sec(1) + 456);
    s.containerStatuses![0]!.lastState = { terminated: { exitCode: 0, startedAt: new Date(sec(0) + 1), finishedAt: new Date(sec(0) + 999) } };
    const n = normalizePodStatus(s);
    assert.deepEqual(n.startTime, new Date(sec(1)));
    assert.deepEqual(n.containerStatuses![0]!.lastState?.terminated?.finishedAt, new Date(sec(0)));
    assert.deepEqual(s.startTime, new Date(sec(1) + 456));
  });
});
