import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import { admitPod, isCriticalPod, isCriticalPodByPriority, isCriticalPodForNodelet, nodeConditionMessage, type PodAdmitResult } from './admission.js';
import type { NodeConditionType } from './thresholds.js';

function pod(o: { source?: string; mirror?: boolean; priority?: number; qos?: 'BestEffort' | 'Burstable' | 'Guaranteed'; tolerations?: V1Toleration[] } = {}): V1Pod {
  const annotations: Record<string, string> = {};
  if (o.source) annotations['kubernetes.io/config.source'] = o.source;
  if (o.mirror) annotations['kubernetes.io/config.mirror'] = 'abc';
  const resources: V1ResourceRequirements =
    o.qos === 'Guaranteed'
      ? { limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: '100m', memory: '64Mi' } }
      : o.qos === 'Burstable'
        ? { requests: { memory: '64Mi' } }
        : {};
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'u1', annotations },
    spec: {
      containers: [{ name: 'c', image: 'busybox', resources }],
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    },
  };
}

const admitted: PodAdmitResult = { admit: true };
const rejected = (conds: NodeConditionType[]): PodAdmitResult => ({ admit: false, reason: 'Evicted', message: nodeConditionMessage(conds) });

describe('admitPod', () => {
  it('formats the message as upstream', () => {
    assert.equal(nodeConditionMessage(['DiskPressure']), 'The node had condition: [DiskPressure]. ');
    assert.equal(nodeConditionMessage(['MemoryPressure', 'DiskPressure']), 'The node had condition: [MemoryPressure DiskPressure]. ');
  });

  const memoryTaintToleration: V1Toleration = { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' };
  const table: { name: string; p: V1Pod; conds: NodeConditionType[]; want: PodAdmitResult }[] = [
    { name: 'no pressure admits a BestEffort API pod', p: pod({ source: 'api' }), conds: [], want: admitted },
    { name: 'DiskPressure rejects an API pod', p: pod({ source: 'api', qos: 'Guaranteed' }), conds: ['DiskPressure'], want: rejected(['DiskPressure']) },
    { name: 'DiskPressure admits a static pod (upstream: static pods are critical)', p: pod({ source: 'file' }), conds: ['DiskPressure'], want: admitted },
    { name: 'DiskPressure admits an http static pod', p: pod({ source: 'http' }), conds: ['DiskPressure'], want: admitted },
    { name: 'DiskPressure admits a mirror pod', p: pod({ source: 'api', mirror: true }), conds: ['DiskPressure'], want: admitted },
    { name: 'DiskPressure admits a system-critical priority pod', p: pod({ source: 'api', priority: 2_000_000_000 }), conds: ['DiskPressure'], want: admitted },
    { name: 'DiskPressure rejects priority just below critical', p: pod({ source: 'api', priority: 1_999_999_999 }), conds: ['DiskPressure'], want: rejected(['DiskPressure']) },
    { name: 'MemoryPressure admits Burstable', p: pod({ source: 'api', qos: 'Burstable' }), conds: ['MemoryPressure'], want: admitted },
    { name: 'MemoryPressure admits Guaranteed', p: pod({ source: 'api', qos: 'Guaranteed' }), conds: ['MemoryPressure'], want: admitted },
    { name: 'MemoryPressure rejects BestEffort', p: pod({ source: 'api' }), conds: ['MemoryPressure'], want: rejected(['MemoryPressure']) },
    { name: 'MemoryPressure admits BestEffort tolerating the memory-pressure taint', p: pod({ source: 'api', tolerations: [memoryTaintToleration] }), conds: ['MemoryPressure'], want: admitted },
    { name: 'an empty-key Exists toleration tolerates every taint', p: pod({ source: 'api', tolerations: [{ operator: 'Exists' }] }), conds: ['MemoryPressure'], want: admitted },
    { name: 'a NoExecute toleration does not tolerate the NoSchedule taint', p: pod({ source: 'api', tolerations: [{ ...memoryTaintToleration, effect: 'NoExecute' }] }), conds: ['MemoryPressure'], want: rejected(['MemoryPressure']) },
    { name: 'a toleration of another key does not help', p: pod({ source: 'api', tolerations: [{ key: 'node.kubernetes.io/disk-pressure', operator: 'Exists' }] }), conds: ['MemoryPressure'], want: rejected(['MemoryPressure']) },
    { name: 'Memory and Disk pressure reject a Burstable pod', p: pod({ source: 'api', qos: 'Burstable' }), conds: ['MemoryPressure', 'DiskPressure'], want: rejected(['MemoryPressure', 'DiskPressure']) },
    { name: 'Memory and Disk pressure reject even a tolerating BestEffort pod', p: pod({ source: 'api', tolerations: [memoryTaintToleration] }), conds: ['MemoryPressure', 'DiskPressure'], want: rejected(['MemoryPressure', 'DiskPressure']) },
    { name: 'PIDPressure rejects a Guaranteed pod', p: pod({ source: 'api', qos: 'Guaranteed' }), conds: ['PIDPressure'], want: rejected(['PIDPressure']) },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(admitPod(c.p, c.conds), c.want);
    });
  }

  it('takes the critical-pod rule as a parameter: by priority only, static pods are rejected too', () => {
    assert.deepEqual(admitPod(pod({ source: 'file' }), ['DiskPressure'], isCriticalPodByPriority), rejected(['DiskPressure']));
    assert.deepEqual(admitPod(pod({ source: 'file', priority: 2_000_001_000 }), ['DiskPressure'], isCriticalPodByPriority), admitted);
  });

  it('isCriticalPod: static, mirror or system priority', () => {
    assert.equal(isCriticalPod(pod({ source: 'file' })), true);
    assert.equal(isCriticalPod(pod({ source: 'api' })), false);
    assert.equal(isCriticalPod(pod()), false, 'no source annotation: not static');
  });
});

describe('isCriticalPodForNodelet (a static pod is critical only when it asks for a system priority)', () => {
  const withClass = (cls: string): V1Pod => {
    const p = pod({ source: 'file' });
    p.spec!.priorityClassName = cls;
    return p;
  };
  const rows: [string, V1Pod, boolean][] = [
    ['a plain static pod', pod({ source: 'file' }), false],
    ['a static pod with system-node-critical', withClass('system-node-critical'), true],
    ['a static pod with system-cluster-critical', withClass('system-cluster-critical'), true],
    ['a static pod with another class', withClass('high'), false],
    ['priority 2e9', pod({ source: 'file', priority: 2_000_000_000 }), true],
    ['a mirror pod', pod({ mirror: true }), true],
  ];
  for (const [name, p, want] of rows) {
    it(name, () => {
      assert.equal(isCriticalPodForNodelet(p), want);
      assert.deepEqual(admitPod(p, ['DiskPressure'], isCriticalPodForNodelet), want ? admitted : rejected(['DiskPressure']));
    });
  }
});
