import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Affinity, V1Container, V1ContainerPort, V1Node, V1NodeSelectorRequirement, V1NodeSelectorTerm, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { admitPod, hostPortsConflict, nodeMatchesNodeSelectorTerms, podRequests, tolerationsTolerateTaint, type PredicateAdmitResult } from './predicate.js';

type Requests = Record<string, string>;

interface PodOpts {
  name?: string;
  containers?: { requests?: Requests; ports?: V1ContainerPort[] }[];
  initContainers?: { requests?: Requests; sidecar?: boolean; ports?: V1ContainerPort[] }[];
  overhead?: Requests;
  nodeSelector?: Record<string, string>;
  affinity?: V1Affinity;
  tolerations?: V1Toleration[];
  nodeName?: string;
  source?: string;
  priority?: number;
  labels?: Record<string, string>;
  os?: string;
}

function pod(o: PodOpts = {}): V1Pod {
  const name = o.name ?? 'p';
  const containers: V1Container[] = (o.containers ?? [{}]).map((c, i) => ({
    name: `c${i}`,
    image: 'busybox',
    ...(c.requests ? { resources: { requests: c.requests } } : {}),
    ...(c.ports ? { ports: c.ports } : {}),
  }));
  const initContainers: V1Container[] = (o.initContainers ?? []).map((c, i) => ({
    name: `i${i}`,
    image: 'busybox',
    ...(c.requests ? { resources: { requests: c.requests } } : {}),
    ...(c.sidecar ? { restartPolicy: 'Always' } : {}),
    ...(c.ports ? { ports: c.ports } : {}),
  }));
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      ...(o.source ? { annotations: { 'kubernetes.io/config.source': o.source } } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
    },
    spec: {
      containers,
      ...(initContainers.length ? { initContainers } : {}),
      ...(o.overhead ? { overhead: o.overhead } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.os ? { os: { name: o.os } } : {}),
    },
  };
}

const defaultAllocatable: Requests = { cpu: '2', memory: '4Gi', 'ephemeral-storage': '10Gi', pods: '110' };

function node(o: { name?: string; labels?: Record<string, string>; taints?: V1Taint[]; allocatable?: Requests } = {}): V1Node {
  return {
    metadata: { name: o.name ?? 'node-a', labels: o.labels ?? { 'kubernetes.io/hostname': 'node-a', 'kubernetes.io/os': 'linux' } },
    spec: o.taints ? { taints: o.taints } : {},
    status: { allocatable: o.allocatable ?? defaultAllocatable },
  };
}

const cpuPod = (name: string, cpu: string): V1Pod => pod({ name, containers: [{ requests: { cpu } }] });
const requiredAffinity = (...terms: V1NodeSelectorTerm[]): V1Affinity => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } });
const reject = (reason: string, message: string): PredicateAdmitResult => ({ admit: false, reason, message });
const predicateFailed = (name: string): PredicateAdmitResult => reject(name, `Predicate ${name} failed`);
const noExecute: V1Taint = { key: 'dedicated', value: 'db', effect: 'NoExecute' };

describe('podRequests', () => {
  const cases: { name: string; pod: V1Pod; cpu: bigint; memory?: bigint; scalar?: Record<string, bigint> }[] = [
    { name: 'sums the containers', pod: pod({ containers: [{ requests: { cpu: '100m', memory: '1Gi' } }, { requests: { cpu: '200m', memory: '1Gi' } }] }), cpu: 300n, memory: 2n * 2n ** 30n },
    {
      // upstream computePodResourceRequest's example: max(sum of containers, each init container)
      name: 'takes the max of containers and init containers per resource',
      pod: pod({
        initContainers: [{ requests: { cpu: '2', memory: '1G' } }, { requests: { cpu: '2', memory: '3G' } }],
        containers: [{ requests: { cpu: '2', memory: '1G' } }, { requests: { cpu: '1', memory: '1G' } }],
      }),
      cpu: 3000n,
      memory: 3_000_000_000n,
    },
    { name: 'an init container bigger than all containers wins', pod: pod({ initContainers: [{ requests: { cpu: '1500m' } }], containers: [{ requests: { cpu: '100m' } }, { requests: { cpu: '200m' } }] }), cpu: 1500n },
    {
      name: 'a sidecar adds to the containers and to the init containers after it',
      pod: pod({ initContainers: [{ sidecar: true, requests: { cpu: '500m' } }, { requests: { cpu: '1' } }], containers: [{ requests: { cpu: '100m' } }] }),
      cpu: 1500n,
    },
    {
      name: 'a sidecar does not add to the init containers before it',
      pod: pod({ initContainers: [{ requests: { cpu: '150m' } }, { sidecar: true, requests: { cpu: '50m' } }], containers: [{ requests: { cpu: '100m' } }, { requests: { cpu: '200m' } }] }),
      cpu: 350n,
    },
    { name: 'overhead is added to the sum', pod: pod({ containers: [{ requests: { cpu: '100m' } }], overhead: { cpu: '250m' } }), cpu: 350n },
    { name: 'overhead is added after the init-container max', pod: pod({ initContainers: [{ requests: { cpu: '1' } }], containers: [{ requests: { cpu: '100m' } }], overhead: { cpu: '100m' } }), cpu: 1100n },
    { name: 'sums exactly before rounding up to millicores', pod: pod({ containers: [{ requests: { cpu: '0.5m' } }, { requests: { cpu: '0.5m' } }] }), cpu: 1n },
    {
      name: 'extended, hugepages and kubernetes.io resources are scalar; unknown names are ignored',
      pod: pod({ containers: [{ requests: { 'example.com/gpu': '2', 'hugepages-2Mi': '4Mi', 'kubernetes.io/foo': '1', foo: '3' } }] }),
      cpu: 0n,
      scalar: { 'example.com/gpu': 2n, 'hugepages-2Mi': 4n * 2n ** 20n, 'kubernetes.io/foo': 1n },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = podRequests(c.pod);
      assert.equal(r.milliCPU, c.cpu);
      if (c.memory !== undefined) assert.equal(r.memory, c.memory);
      if (c.scalar) assert.deepEqual(r.scalar, c.scalar);
    });
  }
});

describe('admitPod: one failing predicate each', () => {
  const cases: { name: string; pod: V1Pod; node?: V1Node; others?: V1Pod[]; want: PredicateAdmitResult }[] = [
    { name: 'a pod that fits is admitted', pod: cpuPod('p', '200m'), others: [cpuPod('o', '1800m')], want: { admit: true } },
    { name: 'a pod without requests is admitted', pod: pod(), want: { admit: true } },
    {
      name: 'cpu',
      pod: cpuPod('p', '500m'),
      others: [cpuPod('o1', '1'), cpuPod('o2', '800m')],
      want: reject('OutOfcpu', "Node didn't have enough resource: cpu, requested: 500, used: 1800, capacity: 2000"),
    },
    {
      name: 'memory',
      pod: pod({ containers: [{ requests: { memory: '3Gi' } }] }),
      others: [pod({ name: 'o', containers: [{ requests: { memory: '2Gi' } }] })],
      want: reject('OutOfmemory', "Node didn't have enough resource: memory, requested: 3221225472, used: 2147483648, capacity: 4294967296"),
    },
    {
      name: 'ephemeral-storage',
      pod: pod({ containers: [{ requests: { 'ephemeral-storage': '11Gi' } }] }),
      want: reject('OutOfephemeral-storage', "Node didn't have enough resource: ephemeral-storage, requested: 11811160064, used: 0, capacity: 10737418240"),
    },
    {
      name: 'pods: every pod counts one',
      pod: pod(),
      node: node({ allocatable: { ...defaultAllocatable, pods: '2' } }),
      others: [pod({ name: 'o1' }), pod({ name: 'o2' })],
      want: reject('OutOfpods', "Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2"),
    },
    {
      name: 'an advertised extended resource',
      pod: pod({ containers: [{ requests: { 'example.com/gpu': '1' } }] }),
      node: node({ allocatable: { ...defaultAllocatable, 'example.com/gpu': '1' } }),
      others: [pod({ name: 'o', containers: [{ requests: { 'example.com/gpu': '1' } }] })],
      want: reject('OutOfexample.com/gpu', "Node didn't have enough resource: example.com/gpu, requested: 1, used: 1, capacity: 1"),
    },
    {
      name: 'an extended resource the node does not advertise is dropped (upstream caveat)',
      pod: pod({ containers: [{ requests: { 'example.com/gpu': '1' } }] }),
      want: { admit: true },
    },
    {
      name: 'hugepages the node does not advertise',
      pod: pod({ containers: [{ requests: { 'hugepages-2Mi': '4Mi' } }] }),
      want: reject('OutOfhugepages-2Mi', "Node didn't have enough resource: hugepages-2Mi, requested: 4194304, used: 0, capacity: 0"),
    },
    {
      name: 'cpu the node does not advertise',
      pod: cpuPod('p', '1m'),
      node: node({ allocatable: { memory: '1Gi', pods: '10' } }),
      want: reject('OutOfcpu', "Node didn't have enough resource: cpu, requested: 1, used: 0, capacity: 0"),
    },
    { name: 'a request exactly equal to what is free fits', pod: cpuPod('p', '500m'), others: [cpuPod('o', '1500m')], want: { admit: true } },
    {
      name: 'overhead counts toward the fit',
      pod: pod({ containers: [{ requests: { cpu: '400m' } }], overhead: { cpu: '200m' } }),
      others: [cpuPod('o', '1500m')],
      want: reject('OutOfcpu', "Node didn't have enough resource: cpu, requested: 600, used: 1500, capacity: 2000"),
    },
    {
      name: 'an init container larger than the containers counts toward the fit',
      pod: pod({ initContainers: [{ requests: { cpu: '1' } }], containers: [{ requests: { cpu: '100m' } }] }),
      others: [cpuPod('o', '1500m')],
      want: reject('OutOfcpu', "Node didn't have enough resource: cpu, requested: 1000, used: 1500, capacity: 2000"),
    },
    {
      name: "other pods' init containers and sidecars count as the scheduler counts them",
      pod: cpuPod('p', '600m'),
      others: [pod({ name: 'o', initContainers: [{ sidecar: true, requests: { cpu: '500m' } }], containers: [{ requests: { cpu: '1' } }] })],
      want: reject('OutOfcpu', "Node didn't have enough resource: cpu, requested: 600, used: 1500, capacity: 2000"),
    },
    { name: 'NodeAffinity (nodeSelector)', pod: pod({ nodeSelector: { disk: 'ssd' } }), want: predicateFailed('NodeAffinity') },
    { name: 'nodeSelector matching the node labels', pod: pod({ nodeSelector: { 'kubernetes.io/hostname': 'node-a' } }), want: { admit: true } },
    {
      name: 'NodeAffinity (required node affinity)',
      pod: pod({ affinity: requiredAffinity({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }) }),
      want: predicateFailed('NodeAffinity'),
    },
    { name: 'NodeName', pod: pod({ nodeName: 'node-b' }), want: predicateFailed('NodeName') },
    { name: 'NodeName equal to the node', pod: pod({ nodeName: 'node-a' }), want: { admit: true } },
    {
      name: 'NodePorts',
      pod: pod({ containers: [{ ports: [{ containerPort: 80, hostPort: 8080 }] }] }),
      others: [pod({ name: 'o', containers: [{ ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }] }] })],
      want: predicateFailed('NodePorts'),
    },
    { name: 'TaintToleration (NoExecute)', pod: pod(), node: node({ taints: [noExecute] }), want: predicateFailed('TaintToleration') },
    { name: 'a tolerated NoExecute taint', pod: pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' }] }), node: node({ taints: [noExecute] }), want: { admit: true } },
    { name: 'NoSchedule taints are ignored by kubelet admission', pod: pod(), node: node({ taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 'k2', effect: 'PreferNoSchedule' }] }), want: { admit: true } },
    { name: 'a static pod is not checked against taints', pod: pod({ source: 'file' }), node: node({ taints: [noExecute] }), want: { admit: true } },
    {
      name: 'the kubernetes.io/os pod label must match the node OS',
      pod: pod({ labels: { 'kubernetes.io/os': 'windows' } }),
      want: reject('PodOSSelectorNodeLabelDoesNotMatch', "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"),
    },
    { name: 'spec.os must be the node OS', pod: pod({ os: 'windows' }), want: reject('PodOSNotSupported', "Failed to admit pod as the OS field doesn't match node OS") },
    { name: 'spec.os linux is admitted', pod: pod({ os: 'linux', labels: { 'kubernetes.io/os': 'linux' } }), want: { admit: true } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(admitPod({ pod: c.pod, node: c.node ?? node(), otherPods: c.others ?? [] }), c.want);
    });
  }

  it('a malformed quantity rejects the pod with UnexpectedAdmissionError', () => {
    const r = admitPod({ pod: cpuPod('p', 'lots'), node: node(), otherPods: [] });
    assert.equal(r.admit, false);
    assert.equal(!r.admit && r.reason, 'UnexpectedAdmissionError');
    assert.match(!r.admit ? r.message : '', /lots/);
  });
});

describe('admitPod: which reason wins when several fail', () => {
  const taintedNode = (allocatable: Requests = defaultAllocatable): V1Node => node({ taints: [noExecute], allocatable });
  const everything = (o: PodOpts = {}): V1Pod =>
    pod({ containers: [{ requests: { cpu: '3', memory: '8Gi' }, ports: [{ containerPort: 80, hostPort: 8080 }] }], nodeSelector: { disk: 'ssd' }, nodeName: 'node-b', ...o });
  const portHolder = pod({ name: 'o', containers: [{ ports: [{ containerPort: 80, hostPort: 8080 }] }] });
  const cases: { name: string; pod: V1Pod; node: V1Node; others?: V1Pod[]; want: string }[] = [
    { name: 'pods before cpu', pod: cpuPod('p', '3'), node: node({ allocatable: { ...defaultAllocatable, pods: '1' } }), others: [pod({ name: 'o' })], want: 'OutOfpods' },
    { name: 'cpu before memory', pod: pod({ containers: [{ requests: { cpu: '3', memory: '8Gi' } }] }), node: node(), want: 'OutOfcpu' },
    { name: 'memory before ephemeral-storage', pod: pod({ containers: [{ requests: { memory: '8Gi', 'ephemeral-storage': '20Gi' } }] }), node: node(), want: 'OutOfmemory' },
    { name: 'resources before every other predicate', pod: everything(), node: taintedNode(), others: [portHolder], want: 'OutOfcpu' },
    { name: 'NodeAffinity before NodeName, NodePorts, TaintToleration', pod: everything({ containers: [{ ports: [{ containerPort: 80, hostPort: 8080 }] }] }), node: taintedNode(), others: [portHolder], want: 'NodeAffinity' },
    { name: 'NodeName before NodePorts and TaintToleration', pod: pod({ nodeName: 'node-b', containers: [{ ports: [{ containerPort: 80, hostPort: 8080 }] }] }), node: taintedNode(), others: [portHolder], want: 'NodeName' },
    { name: 'NodePorts before TaintToleration', pod: pod({ containers: [{ ports: [{ containerPort: 80, hostPort: 8080 }] }] }), node: taintedNode(), others: [portHolder], want: 'NodePorts' },
    { name: 'a critical pod reports its first non-resource reason', pod: everything({ priority: 2_000_000_000, nodeSelector: {}, nodeName: '' }), node: taintedNode(), others: [portHolder], want: 'NodePorts' },
    { name: 'a static pod (critical) failing resources and affinity reports NodeAffinity', pod: everything({ source: 'file' }), node: node(), want: 'NodeAffinity' },
    { name: 'a critical pod failing only resources is rejected (no preemption)', pod: pod({ priority: 2_000_000_000, containers: [{ requests: { cpu: '3' } }] }), node: node(), want: 'OutOfcpu' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = admitPod({ pod: c.pod, node: c.node, otherPods: c.others ?? [] });
      assert.equal(r.admit, false);
      assert.equal(!r.admit && r.reason, c.want);
    });
  }

  it('isCritical can be replaced (a non-critical static pod reports the resource first)', () => {
    const r = admitPod({ pod: everything({ source: 'file' }), node: node(), otherPods: [], isCritical: () => false });
    assert.equal(!r.admit && r.reason, 'OutOfcpu');
  });
});

describe('tolerationsTolerateTaint', () => {
  const taint: V1Taint = { key: 'dedicated', value: 'db', effect: 'NoExecute' };
  const cases: { name: string; tolerations: V1Toleration[] | undefined; taint?: V1Taint; want: boolean }[] = [
    { name: 'no tolerations', tolerations: undefined, want: false },
    { name: 'Equal with key, value and effect', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' }], want: true },
    { name: 'empty operator means Equal', tolerations: [{ key: 'dedicated', value: 'db' }], want: true },
    { name: 'Equal with another value', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web' }], want: false },
    { name: 'Equal with no value against a taint with a value', tolerations: [{ key: 'dedicated', operator: 'Equal' }], want: false },
    { name: 'Equal with no value against a taint without value', tolerations: [{ key: 'k', operator: 'Equal' }], taint: { key: 'k', effect: 'NoExecute' }, want: true },
    { name: 'Exists with the key ignores the value', tolerations: [{ key: 'dedicated', operator: 'Exists' }], want: true },
    { name: 'Exists with empty key tolerates every taint', tolerations: [{ operator: 'Exists' }], want: true },
    { name: 'Exists with empty key and an effect only tolerates that effect', tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }], want: false },
    { name: 'empty effect matches every effect', tolerations: [{ key: 'dedicated', operator: 'Exists' }], taint: { key: 'dedicated', effect: 'NoSchedule' }, want: true },
    { name: 'another effect', tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }], want: false },
    { name: 'another key', tolerations: [{ key: 'other', operator: 'Exists' }], want: false },
    { name: 'an unknown operator tolerates nothing', tolerations: [{ key: 'dedicated', operator: 'Gt', value: 'db' }], want: false },
    { name: 'any of several', tolerations: [{ key: 'other', operator: 'Exists' }, { key: 'dedicated', operator: 'Exists' }], want: true },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(tolerationsTolerateTaint(c.tolerations, c.taint ?? taint), c.want));
  }
});

describe('nodeMatchesNodeSelectorTerms', () => {
  const n = node({ name: 'node-a', labels: { zone: 'a', cores: '8', disk: 'ssd', weird: 'x8' } });
  const expr = (key: string, operator: string, values?: string[]): V1NodeSelectorRequirement => ({ key, operator, ...(values ? { values } : {}) });
  const cases: { name: string; terms: V1NodeSelectorTerm[]; node?: V1Node; want: boolean }[] = [
    { name: 'In', terms: [{ matchExpressions: [expr('zone', 'In', ['b', 'a'])] }], want: true },
    { name: 'In, other value', terms: [{ matchExpressions: [expr('zone', 'In', ['b'])] }], want: false },
    { name: 'In, missing label', terms: [{ matchExpressions: [expr('rack', 'In', ['1'])] }], want: false },
    { name: 'NotIn', terms: [{ matchExpressions: [expr('zone', 'NotIn', ['a'])] }], want: false },
    { name: 'NotIn, missing label matches', terms: [{ matchExpressions: [expr('rack', 'NotIn', ['1'])] }], want: true },
    { name: 'Exists', terms: [{ matchExpressions: [expr('disk', 'Exists')] }], want: true },
    { name: 'DoesNotExist', terms: [{ matchExpressions: [expr('disk', 'DoesNotExist')] }], want: false },
    { name: 'DoesNotExist, missing label', terms: [{ matchExpressions: [expr('gpu', 'DoesNotExist')] }], want: true },
    { name: 'Gt', terms: [{ matchExpressions: [expr('cores', 'Gt', ['4'])] }], want: true },
    { name: 'Gt, equal is not greater', terms: [{ matchExpressions: [expr('cores', 'Gt', ['8'])] }], want: false },
    { name: 'Lt', terms: [{ matchExpressions: [expr('cores', 'Lt', ['16'])] }], want: true },
    { name: 'Lt compares integers, not strings', terms: [{ matchExpressions: [expr('cores', 'Lt', ['10'])] }], want: true },
    { name: 'Gt on a non-integer label value', terms: [{ matchExpressions: [expr('weird', 'Gt', ['1'])] }], want: false },
    { name: 'Gt on a missing label', terms: [{ matchExpressions: [expr('gpus', 'Gt', ['0'])] }], want: false },
    { name: 'Gt with a non-integer value is an invalid term', terms: [{ matchExpressions: [expr('cores', 'Gt', ['4.5'])] }], want: false },
    { name: 'Gt with two values is an invalid term', terms: [{ matchExpressions: [expr('cores', 'Gt', ['1', '2'])] }], want: false },
    { name: 'expressions within a term are ANDed', terms: [{ matchExpressions: [expr('zone', 'In', ['a']), expr('disk', 'In', ['hdd'])] }], want: false },
    { name: 'terms are ORed', terms: [{ matchExpressions: [expr('zone', 'In', ['b'])] }, { matchExpressions: [expr('disk', 'In', ['ssd'])] }], want: true },
    { name: 'an empty term matches nothing', terms: [{}], want: false },
    { name: 'no terms match nothing', terms: [], want: false },
    { name: 'an invalid term (In without values) is skipped, another can match', terms: [{ matchExpressions: [expr('zone', 'In', [])] }, { matchExpressions: [expr('zone', 'Exists')] }], want: true },
    { name: 'an unknown operator makes the term invalid', terms: [{ matchExpressions: [expr('zone', 'Like', ['a'])] }], want: false },
    { name: 'matchFields metadata.name In', terms: [{ matchFields: [expr('metadata.name', 'In', ['node-a'])] }], want: true },
    { name: 'matchFields metadata.name In, other node', terms: [{ matchFields: [expr('metadata.name', 'In', ['node-b'])] }], want: false },
    { name: 'matchFields metadata.name NotIn', terms: [{ matchFields: [expr('metadata.name', 'NotIn', ['node-a'])] }], want: false },
    { name: 'matchFields with two values is an invalid term', terms: [{ matchFields: [expr('metadata.name', 'In', ['node-a', 'node-b'])] }], want: false },
    { name: 'matchFields and matchExpressions are ANDed', terms: [{ matchExpressions: [expr('zone', 'In', ['b'])], matchFields: [expr('metadata.name', 'In', ['node-a'])] }], want: false },
    {
      name: 'matchFields are ignored for a node without a name (as upstream)',
      terms: [{ matchFields: [expr('metadata.name', 'In', ['node-b'])] }],
      node: { metadata: { labels: {} } },
      want: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(nodeMatchesNodeSelectorTerms(c.node ?? n, c.terms), c.want));
  }
});

describe('hostPortsConflict', () => {
  const withPort = (name: string, port: V1ContainerPort): V1Pod => pod({ name, containers: [{ ports: [port] }] });
  const p = (hostPort: number, o: { hostIP?: string; protocol?: string } = {}): V1ContainerPort => ({ containerPort: 80, hostPort, ...o });
  const cases: { name: string; want: V1ContainerPort; used: V1ContainerPort; conflict: boolean }[] = [
    { name: 'same port, no IPs', want: p(8080), used: p(8080), conflict: true },
    { name: 'different ports', want: p(8080), used: p(8081), conflict: false },
    { name: 'protocol defaults to TCP', want: p(8080), used: p(8080, { protocol: 'TCP' }), conflict: true },
    { name: 'UDP and TCP on one port do not conflict', want: p(53, { protocol: 'UDP' }), used: p(53), conflict: false },
    { name: 'UDP and UDP conflict', want: p(53, { protocol: 'UDP' }), used: p(53, { protocol: 'UDP' }), conflict: true },
    { name: '0.0.0.0 wanted conflicts with a specific IP in use', want: p(8080, { hostIP: '0.0.0.0' }), used: p(8080, { hostIP: '10.0.0.1' }), conflict: true },
    { name: 'a specific IP wanted conflicts with 0.0.0.0 in use', want: p(8080, { hostIP: '10.0.0.1' }), used: p(8080, { hostIP: '0.0.0.0' }), conflict: true },
    { name: 'an empty hostIP is 0.0.0.0', want: p(8080, { hostIP: '10.0.0.1' }), used: p(8080), conflict: true },
    { name: 'two different specific IPs do not conflict', want: p(8080, { hostIP: '10.0.0.1' }), used: p(8080, { hostIP: '10.0.0.2' }), conflict: false },
    { name: 'the same specific IP conflicts', want: p(8080, { hostIP: '10.0.0.1' }), used: p(8080, { hostIP: '10.0.0.1' }), conflict: true },
    { name: 'hostPort 0 is no host port', want: { containerPort: 80, hostPort: 0 }, used: { containerPort: 80, hostPort: 0 }, conflict: false },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(hostPortsConflict(withPort('p', c.want), [withPort('o', c.used)]), c.conflict));
  }

  it('only the containers of the pods count, not init containers', () => {
    const initHolder = pod({ name: 'o', initContainers: [{ ports: [p(8080)] }] });
    assert.equal(hostPortsConflict(withPort('p', p(8080)), [initHolder]), false);
    const initWanter = pod({ name: 'p', initContainers: [{ ports: [p(8080)] }] });
    assert.equal(hostPortsConflict(initWanter, [withPort('o', p(8080))]), false);
  });

  it('no other pods, no conflict', () => assert.equal(hostPortsConflict(withPort('p', p(8080)), []), false));
});
