import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import { parseThresholdConfig } from '../eviction/thresholds.js';
import { cachingMachineReaders, goArch, parseMemTotal, parseOsRelease, readMachineFacts, type MachineReaders } from './machine.js';
import { runtimeStateErrors } from './readiness.js';
import {
  aggregateMessage,
  allocatableReservation,
  computeAllocatable,
  formatBinarySI,
  formatMilli,
  initialNode,
  machineCapacity,
  nodeImages,
  nodeStatusHasChanged,
  nodeStatusPatch,
  parseTaints,
  reconcileMetadata,
  setNodeStatus,
  setPressureConditions,
  setReadyCondition,
  shouldPatchNodeStatus,
  type MachineFacts,
  type NodeSettings,
  type StatusInputs,
} from './setters.js';

const Ki = 1024;
const Mi = 1024 * Ki;
const Gi = 1024 * Mi;
const T0 = Date.UTC(2026, 0, 1);

const machine: MachineFacts = {
  numCores: 2,
  memoryCapacity: 8 * Gi,
  rootFsCapacity: 100 * Gi,
  hugePages: [{ pageSizeKiB: 2048, numPages: 0 }, { pageSizeKiB: 1048576, numPages: 0 }],
  machineID: 'mid',
  systemUUID: 'uuid',
  bootID: 'boot-1',
  kernelVersion: '6.1.0-18-amd64',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  operatingSystem: 'linux',
  architecture: 'amd64',
};

const settings: NodeSettings = { nodeName: 'n1', hostname: 'n1', nodeIP: '10.0.0.5', maxPods: 110, kubeletVersion: 'v1.30.0', kubeletPort: 10250 };

const inputs = (o: Partial<StatusInputs> = {}): StatusInputs => ({ machine, runtime: { name: 'containerd', version: '1.6.20' }, images: [], pressure: [], readyErrors: [], ...o });

describe('quantities as resource.Quantity writes them', () => {
  const table: [number, string][] = [[0, '0'], [1000, '1k'], [1023, '1023'], [1024, '1Ki'], [1536, '1536'], [2 * Mi, '2Mi'], [8148232 * Ki, '8148232Ki'], [Gi, '1Gi']];
  for (const [n, want] of table) it(`BinarySI ${n} -> ${want}`, () => assert.equal(formatBinarySI(n), want));
  it('cpu milli', () => assert.deepEqual([formatMilli(2000), formatMilli(1900), formatMilli(0)], ['2', '1900m', '0']));
});

describe('taints from --register-with-taints', () => {
  const ok: [string, unknown][] = [
    ['', []],
    ['dedicated=gpu:NoSchedule', [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]],
    ['a:NoExecute,example.com/b=x:PreferNoSchedule', [{ key: 'a', effect: 'NoExecute' }, { key: 'example.com/b', value: 'x', effect: 'PreferNoSchedule' }]],
    ['a=1:NoSchedule,a=2:NoExecute', [{ key: 'a', value: '1', effect: 'NoSchedule' }, { key: 'a', value: '2', effect: 'NoExecute' }]],
    ['a:NoSchedule,gone-', [{ key: 'a', effect: 'NoSchedule' }]],
  ];
  for (const [spec, want] of ok) it(`parses ${JSON.stringify(spec)}`, () => assert.deepEqual(parseTaints(spec), want));
  const bad: [string, RegExp][] = [
    ['a', /flag: --register-with-taints: invalid taint spec: a$/],
    ['a=b:NoWay', /invalid taint effect: NoWay, unsupported taint effect/],
    ['a=b=c:NoSchedule', /invalid taint spec: a=b=c:NoSchedule/],
    ['a:b:NoSchedule', /invalid taint spec: a:b:NoSchedule/],
    ['-a:NoSchedule', /invalid taint spec: -a:NoSchedule, name part must consist/],
    ['a=b:NoSchedule,a=c:NoSchedule', /duplicated taints with the same key and effect: a=c:NoSchedule/],
    ['a=b c:NoSchedule', /invalid taint spec: a=b c:NoSchedule, a valid label/],
  ];
  for (const [spec, re] of bad) it(`rejects ${JSON.stringify(spec)}`, () => assert.throws(() => parseTaints(spec), re));
});

describe('capacity and allocatable', () => {
  const cap = machineCapacity(machine, 110);
  it('capacity from the machine', () => {
    assert.deepEqual(Object.fromEntries(cap), { cpu: 2000, memory: 8 * Gi, 'hugepages-2Mi': 0, 'hugepages-1Gi': 0, pods: 110, 'ephemeral-storage': 100 * Gi });
  });
  const hard = parseThresholdConfig({ evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '10%', 'imagefs.available': '15%', 'nodefs.inodesFree': '5%' } });
  const table: { name: string; s: Partial<NodeSettings>; hp?: number; want: Record<string, number> }[] = [
    { name: 'nothing reserved', s: {}, want: { cpu: 2000, memory: 8 * Gi, 'ephemeral-storage': 100 * Gi, pods: 110 } },
    {
      name: 'kube + system reserved add up',
      s: { kubeReserved: { cpu: '100m', memory: '256Mi' }, systemReserved: { cpu: '0.2', memory: '256Mi', 'ephemeral-storage': '1Gi' } },
      want: { cpu: 1700, memory: 8 * Gi - 512 * Mi, 'ephemeral-storage': 99 * Gi, pods: 110 },
    },
    {
      name: 'hard eviction: memory.available and nodefs.available (percent of capacity) only',
      s: { hardEvictionThresholds: hard },
      want: { cpu: 2000, memory: 8 * Gi - 100 * Mi, 'ephemeral-storage': 100 * Gi - Math.trunc(100 * Gi * Math.fround(0.1)), pods: 110 },
    },
    { name: 'never negative', s: { kubeReserved: { cpu: '3' } }, want: { cpu: 0, memory: 8 * Gi, 'ephemeral-storage': 100 * Gi, pods: 110 } },
    { name: 'hugepages come off memory', s: { kubeReserved: { memory: '1Gi' } }, hp: 512, want: { cpu: 2000, memory: 7 * Gi - 512 * 2 * Mi, 'ephemeral-storage': 100 * Gi, pods: 110 } },
  ];
  for (const t of table) {
    it(t.name, () => {
      const m = { ...machine, hugePages: [{ pageSizeKiB: 2048, numPages: t.hp ?? 0 }] };
      const c = machineCapacity(m, 110);
      const a = computeAllocatable(c, allocatableReservation(c, t.s));
      const { 'hugepages-2Mi': _hp, ...rest } = Object.fromEntries(a);
      assert.deepEqual(rest, t.want);
    });
  }
  it('written as quantities on the Node', () => {
    const { node } = initialNode({ ...settings, kubeReserved: { cpu: '100m', memory: '100Mi' } }, inputs(), T0);
    assert.deepEqual(node.status?.capacity, { cpu: '2', memory: '8Gi', 'hugepages-2Mi': '0', 'hugepages-1Gi': '0', pods: '110', 'ephemeral-storage': '100Gi' });
    assert.deepEqual(node.status?.allocatable, { cpu: '1900m', memory: '8092Mi', 'hugepages-2Mi': '0', 'hugepages-1Gi': '0', pods: '110', 'ephemeral-storage': '100Gi' });
  });
});

describe('initialNode', () => {
  it('labels, taints, annotation, addresses, nodeInfo, endpoints', () => {
    const { node, events } = initialNode(
      { ...settings, nodeLabels: { 'node-role.example/x': 'y', [`kubernetes.io/hostname`]: 'n1' }, registerWithTaints: parseTaints('a=b:NoSchedule') },
      inputs(),
      T0,
    );
    assert.deepEqual(node.metadata?.labels, {
      'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', 'node-role.example/x': 'y',
    });
    assert.deepEqual(node.metadata?.annotations, { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' });
    assert.deepEqual(node.spec, { taints: [{ key: 'a', value: 'b', effect: 'NoSchedule' }] });
    assert.deepEqual(node.status?.addresses, [{ type: 'InternalIP', address: '10.0.0.5' }, { type: 'Hostname', address: 'n1' }]);
    assert.deepEqual(node.status?.nodeInfo, {
      architecture: 'amd64', bootID: 'boot-1', containerRuntimeVersion: 'containerd://1.6.20', kernelVersion: '6.1.0-18-amd64', kubeProxyVersion: 'v1.30.0', kubeletVersion: 'v1.30.0',
      machineID: 'mid', operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)', systemUUID: 'uuid',
    });
    assert.deepEqual(node.status?.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
    assert.deepEqual(node.status?.conditions?.map((c) => [c.type, c.status, c.reason]), [
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'], ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'], ['PIDPressure', 'False', 'KubeletHasSufficientPID'], ['Ready', 'True', 'KubeletReady'],
    ]);
    assert.deepEqual(events.map((e) => e.reason), ['NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID']);
    assert.equal(events[0]?.message, 'Node n1 status is now: NodeHasSufficientMemory');
  });
  it('unschedulable registration adds the taint once', () => {
    const { node } = initialNode({ ...settings, registerSchedulable: false }, inputs(), T0);
    assert.deepEqual(node.spec, { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
  });
  it('runtime version unknown, machine info missing', () => {
    const { node } = initialNode(settings, inputs({ runtime: undefined, machine: undefined }), T0);
    assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'containerd://Unknown');
    assert.deepEqual(node.status?.capacity, { cpu: '0', memory: '0', pods: '110' });
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.message, 'missing node capacity for resources: ephemeral-storage');
  });
});

describe('Ready condition', () => {
  const table: { name: string; errs: string[]; status: string; reason: string; message: string }[] = [
    { name: 'ready', errs: [], status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
    { name: 'runtime down', errs: ['container runtime is down'], status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down' },
    {
      name: 'runtime down and PLEG, bracketed',
      errs: runtimeStateErrors({ now: T0, lastBaseRuntimeSync: T0 - 200_000, healthChecks: [{ name: 'PLEG', ok: false, message: 'pleg was last seen active 3m20s ago; threshold is 3m0s' }] }),
      status: 'False', reason: 'KubeletNotReady',
      message: '[container runtime is down, PLEG is not healthy: pleg was last seen active 3m20s ago; threshold is 3m0s]',
    },
    { name: 'duplicates collapse', errs: ['x', 'x'], status: 'False', reason: 'KubeletNotReady', message: 'x' },
  ];
  for (const t of table) {
    it(t.name, () => {
      const n: V1Node = { metadata: { name: 'n1' }, status: { capacity: { cpu: '1', memory: '1', pods: '1', 'ephemeral-storage': '1' } } };
      setReadyCondition(n, t.errs, T0);
      const c = n.status!.conditions![0]!;
      assert.deepEqual([c.status, c.reason, c.message], [t.status, t.reason, t.message]);
    });
  }
  it('transition time moves only on a change; heartbeat every pass; events on a flip', () => {
    const n: V1Node = { metadata: { name: 'n1' }, status: { capacity: { cpu: '1', memory: '1', pods: '1', 'ephemeral-storage': '1' } } };
    assert.deepEqual(setReadyCondition(n, ['container runtime status check may not have completed yet'], T0), []);
    assert.deepEqual(setReadyCondition(n, ['container runtime is down'], T0 + 10_000), []);
    let c = n.status!.conditions![0]!;
    assert.deepEqual([c.lastTransitionTime?.getTime(), c.lastHeartbeatTime?.getTime(), c.message], [T0, T0 + 10_000, 'container runtime is down']);
    const ev = setReadyCondition(n, [], T0 + 20_500);
    c = n.status!.conditions![0]!;
    assert.deepEqual(ev, [{ type: 'Normal', reason: 'NodeReady', message: 'Node n1 status is now: NodeReady' }]);
    assert.deepEqual([c.lastTransitionTime?.getTime(), c.lastHeartbeatTime?.getTime()], [T0 + 20_000, T0 + 20_000]);
    assert.deepEqual(setReadyCondition(n, ['container runtime is down'], T0 + 30_000).map((e) => e.reason), ['NodeNotReady']);
  });
  it('runtime state messages as upstream', () => {
    assert.deepEqual(runtimeStateErrors({ now: T0, lastBaseRuntimeSync: undefined }), ['container runtime status check may not have completed yet']);
    assert.deepEqual(runtimeStateErrors({ now: T0, lastBaseRuntimeSync: T0 - 1000, networkReady: { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'cni plugin not initialized' } }), [
      'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni plugin not initialized',
    ]);
    assert.deepEqual(runtimeStateErrors({ now: T0, lastBaseRuntimeSync: T0 - 120_000 }), ['container runtime is down']);
    assert.equal(aggregateMessage([]), '');
  });
});

describe('pressure conditions', () => {
  it('from Unknown to False records the Sufficient events; True on pressure; times as upstream', () => {
    const n: V1Node = { metadata: { name: 'n1' }, status: {} };
    assert.deepEqual(setPressureConditions(n, [], T0).map((e) => e.reason), ['NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID']);
    assert.deepEqual(setPressureConditions(n, [], T0 + 10_000), []);
    const ev = setPressureConditions(n, ['DiskPressure'], T0 + 20_000);
    assert.deepEqual(ev, [{ type: 'Normal', reason: 'NodeHasDiskPressure', message: 'Node n1 status is now: NodeHasDiskPressure' }]);
    const disk = n.status!.conditions!.find((c) => c.type === 'DiskPressure')!;
    const mem = n.status!.conditions!.find((c) => c.type === 'MemoryPressure')!;
    assert.deepEqual([disk.status, disk.reason, disk.message, disk.lastTransitionTime?.getTime()], ['True', 'KubeletHasDiskPressure', 'kubelet has disk pressure', T0 + 20_000]);
    assert.deepEqual([mem.lastTransitionTime?.getTime(), mem.lastHeartbeatTime?.getTime()], [T0, T0 + 20_000]);
  });
  it('a changed boot id records Rebooted', () => {
    const { node } = initialNode(settings, inputs(), T0);
    const ev = setNodeStatus(node, settings, inputs({ machine: { ...machine, bootID: 'boot-2' } }), T0 + 10_000);
    assert.deepEqual(ev, [{ type: 'Warning', reason: 'Rebooted', message: 'Node n1 has been rebooted, boot id: boot-2' }]);
  });
});

describe('images', () => {
  it('largest first, at most 50, digests then tags, at most 5 names', () => {
    const imgs = Array.from({ length: 60 }, (_, i) => ({ id: `sha256:${i}`, repoTags: [`t${i}:1`], repoDigests: [`t${i}@sha256:d`], size: i * 10 }));
    imgs.push({ id: 'big', repoTags: ['a:1', 'a:2', 'a:3', 'a:4'], repoDigests: ['a@sha256:1', 'a@sha256:2'], size: 10_000 });
    const out = nodeImages(imgs);
    assert.equal(out.length, 50);
    assert.deepEqual(out[0], { names: ['a@sha256:1', 'a@sha256:2', 'a:1', 'a:2', 'a:3'], sizeBytes: 10_000 });
    assert.deepEqual(out[1], { names: ['t59@sha256:d', 't59:1'], sizeBytes: 590 });
    assert.equal(out[49]?.sizeBytes, 110);
    assert.equal(nodeImages(imgs, -1).length, 61);
  });
});

describe('change detection and the patch', () => {
  const base = (): V1Node => initialNode(settings, inputs(), T0).node;
  it('heartbeat time alone is no change; a condition, a quantity or an image is', () => {
    const a = base();
    const b = structuredClone(a);
    setNodeStatus(b, settings, inputs(), T0 + 10_000);
    assert.equal(nodeStatusHasChanged(a.status, b.status), false);
    const c = structuredClone(a);
    setNodeStatus(c, settings, inputs({ readyErrors: ['container runtime is down'] }), T0 + 10_000);
    assert.equal(nodeStatusHasChanged(a.status, c.status), true);
    const d = structuredClone(a);
    d.status!.capacity!.cpu = '2000m';
    assert.equal(nodeStatusHasChanged(a.status, d.status), false, 'same quantity, other spelling');
    d.status!.capacity!.cpu = '3';
    assert.equal(nodeStatusHasChanged(a.status, d.status), true);
    const e = structuredClone(a);
    setNodeStatus(e, settings, inputs({ images: [{ id: 'x', repoTags: ['x:1'], repoDigests: [], size: 1 }] }), T0);
    assert.equal(nodeStatusHasChanged(a.status, e.status), true);
    // times as the API returns them (strings) compare equal to Dates
    const f = JSON.parse(JSON.stringify(a)) as V1Node;
    f.status!.addresses = f.status!.addresses!.map((x) => ({ address: x.address, type: x.type }));
    assert.equal(nodeStatusHasChanged(f.status, a.status), false);
  });
  it('shouldPatch: changed, first post, or report frequency passed', () => {
    const table: [boolean, number | undefined, number, boolean][] = [
      [true, T0, T0 + 1, true], [false, undefined, T0, true], [false, T0, T0 + 299_999, false], [false, T0, T0 + 300_000, true],
    ];
    for (const [changed, last, now, want] of table) assert.equal(shouldPatchNodeStatus(changed, last, now, 300_000), want);
  });
  it('patch carries the owned fields, RFC 3339 seconds, nulls for removed resources', () => {
    const a = base();
    a.status!.capacity!['hugepages-32Mi'] = '0';
    const b = structuredClone(a);
    delete b.status!.capacity!['hugepages-32Mi'];
    setNodeStatus(b, settings, inputs(), T0 + 10_700);
    const p = nodeStatusPatch(a, b);
    assert.equal((p.status.capacity as Record<string, unknown>)['hugepages-32Mi'], null);
    const ready = (p.status.conditions as { type: string; lastHeartbeatTime: string; lastTransitionTime: string }[]).find((c) => c.type === 'Ready')!;
    assert.deepEqual([ready.lastHeartbeatTime, ready.lastTransitionTime], ['2026-01-01T00:00:10Z', '2026-01-01T00:00:00Z']);
    assert.deepEqual(Object.keys(p.status).sort(), ['addresses', 'allocatable', 'capacity', 'conditions', 'daemonEndpoints', 'images', 'nodeInfo']);
  });
  it('reconcileMetadata: kubelet-owned labels updated, others kept, annotation added', () => {
    const initial = base();
    const existing: V1Node = { metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'old', 'kubernetes.io/os': 'linux', 'user/label': 'keep' } } };
    assert.deepEqual(reconcileMetadata(initial, existing), {
      labels: { 'kubernetes.io/hostname': 'n1', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64' },
      annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    });
    assert.equal(reconcileMetadata(initial, structuredClone(initial)), undefined);
  });
});

describe('machine facts', () => {
  it('reads through the readers', async () => {
    const files: Record<string, string> = {
      '/proc/meminfo': 'MemTotal:        8148232 kB\nMemFree: 1 kB\n',
      '/etc/machine-id': 'abc\n',
      '/proc/sys/kernel/random/boot_id': 'b-1\n',
      '/etc/os-release': 'NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
      '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages': '4\n',
      '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages': '0\n',
    };
    const r: MachineReaders = {
      readFile: async (p) => files[p],
      readDir: async (p) => (p === '/sys/kernel/mm/hugepages' ? ['hugepages-2048kB', 'hugepages-1048576kB'] : []),
      fsCapacity: async (p) => {
        assert.equal(p, '/var/lib/nodelet');
        return 50 * Gi;
      },
      numCores: () => 2,
      totalMemory: () => 1,
      kernelRelease: () => '6.1.0',
      nodeArch: () => 'x64',
    };
    const m = await readMachineFacts(r, '/var/lib/nodelet');
    assert.deepEqual(m, {
      numCores: 2, memoryCapacity: 8148232 * Ki, rootFsCapacity: 50 * Gi,
      hugePages: [{ pageSizeKiB: 1048576, numPages: 0 }, { pageSizeKiB: 2048, numPages: 4 }],
      machineID: 'abc', systemUUID: '', bootID: 'b-1', kernelVersion: '6.1.0', osImage: 'Debian GNU/Linux 12 (bookworm)', operatingSystem: 'linux', architecture: 'amd64',
    });
    assert.deepEqual(Object.keys(Object.fromEntries(machineCapacity(m, 110))), ['cpu', 'memory', 'hugepages-1Gi', 'hugepages-2Mi', 'pods', 'ephemeral-storage']);
    const noFs = await readMachineFacts({ ...r, fsCapacity: async () => Promise.reject(new Error('x')) }, '/var/lib/nodelet');
    assert.equal(noFs.rootFsCapacity, undefined);
  });
  it('cachingMachineReaders: static facts read once (an unreadable one tried again), hugepages and filesystem capacity every time', async () => {
    const reads = new Map<string, number>();
    const files: Record<string, string | undefined> = { '/etc/machine-id': 'abc\n', '/proc/sys/kernel/random/boot_id': undefined, '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages': '4\n' };
    let cores = 0;
    let fs = 0;
    const cached = cachingMachineReaders({
      readFile: async (p) => {
        reads.set(p, (reads.get(p) ?? 0) + 1);
        return files[p];
      },
      readDir: async () => ['hugepages-2048kB'],
      fsCapacity: async () => ++fs * Gi,
      numCores: () => ++cores,
      totalMemory: () => 1,
      kernelRelease: () => '6.1.0',
      nodeArch: () => 'x64',
    });
    const first = await readMachineFacts(cached, '/');
    assert.equal(first.bootID, '', 'boot_id unreadable at first');
    files['/proc/sys/kernel/random/boot_id'] = 'b-1\n';
    files['/etc/machine-id'] = 'changed\n';
    files['/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'] = '8\n';
    const second = await readMachineFacts(cached, '/');
    assert.equal(second.bootID, 'b-1', 'read again after failing');
    assert.equal(second.machineID, 'abc', 'machine-id read once');
    assert.equal(second.numCores, 1, 'core count read once');
    assert.equal(second.hugePages[0]?.numPages, 8, 'hugepages read every time');
    assert.equal(second.rootFsCapacity, 2 * Gi, 'filesystem capacity read every time');
    assert.equal(reads.get('/etc/machine-id'), 1);
  });
  it('parsers', () => {
    assert.equal(parseMemTotal('MemTotal: 10 kB'), 10240);
    assert.equal(parseMemTotal('nothing'), undefined);
    assert.equal(parseOsRelease(undefined), 'Linux');
    assert.equal(parseOsRelease("PRETTY_NAME='X Y'"), 'X Y');
    assert.deepEqual([goArch('x64'), goArch('arm64')], ['amd64', 'arm64']);
  });
});
