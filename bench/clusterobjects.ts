// bench/clusterobjects: Nodes, Leases and Pods shaped as a real cluster's (a node with its images,
// capacity, nodeInfo and addresses; a pod with its owner, the API server's default tolerations and
// container statuses), shared by the node lifecycle benchmarks.

import { V1MicroTime, type V1Lease, type V1Node, type V1NodeCondition, type V1Pod } from '@kubernetes/client-node';
import { NamespaceNodeLease } from '../src/controller/nodelifecycle/index.js';

export function condition(type: string, status: string, reason: string, message: string, at: Date): V1NodeCondition {
  return { type, status, reason, message, lastHeartbeatTime: at, lastTransitionTime: at };
}

export function kubeletConditions(at: Date, memoryPressure = false): V1NodeCondition[] {
  return [
    memoryPressure ? condition('MemoryPressure', 'True', 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available', at) : condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', at),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', at),
    condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', at),
    condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status', at),
  ];
}

export function makeNode(name: string, i: number, zone: string, now: number): V1Node {
  const at = new Date(now);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `8f1c${i.toString(16).padStart(8, '0')}-5a2e-4b7c-9d31-c0ffee${i.toString(16).padStart(6, '0')}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: at,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'm5.xlarge',
        'topology.kubernetes.io/region': 'r1',
        'topology.kubernetes.io/zone': zone,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: `10.${(i >> 8) & 255}.${i & 255}.0/24`, podCIDRs: [`10.${(i >> 8) & 255}.${i & 255}.0/24`], providerID: `sim:///${zone}/${name}` },
    status: {
      capacity: { cpu: '4', memory: '16335588Ki', pods: '110', 'ephemeral-storage': '101430960Ki', 'hugepages-2Mi': '0' },
      allocatable: { cpu: '3920m', memory: '15184612Ki', pods: '110', 'ephemeral-storage': '93478772582', 'hugepages-2Mi': '0' },
      conditions: kubeletConditions(at),
      addresses: [
        { type: 'InternalIP', address: `172.16.${(i >> 8) & 255}.${i & 255}` },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: `ec2${i.toString(16).padStart(29, '0')}`,
        systemUUID: `ec2${i.toString(16).padStart(8, '0')}-0000-0000-0000-000000000000`,
        bootID: `b007${i.toString(16).padStart(8, '0')}-0000-0000-0000-000000000000`,
        kernelVersion: '6.1.0-18-cloud-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.6.20',
        kubeletVersion: 'v1.30.0',
        kubeProxyVersion: 'v1.30.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: Array.from({ length: 12 }, (_, k) => ({
        names: [`registry.example.com/team-${k}/app@sha256:${(k * 7919 + i).toString(16).padStart(64, '0')}`, `registry.example.com/team-${k}/app:v${k}.${i % 5}`],
        sizeBytes: 20_000_000 + k * 1_000_003,
      })),
    },
  };
}

export function makeLease(name: string, nodeUid: string, now: number): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: NamespaceNodeLease, uid: `lease-${nodeUid}`, resourceVersion: '1', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: nodeUid }] },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new V1MicroTime(now) },
  };
}

export function makePod(node: string, nodeIp: string, j: number, now: number): V1Pod {
  const at = new Date(now);
  const name = `app-${j}-7d9f8b6c5-${node.slice(5)}`;
  const image = `registry.example.com/team-${j % 12}/app:v${j % 12}.0`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: `ns-${j % 20}`,
      uid: `p0d${j}-${node}`,
      resourceVersion: '1',
      creationTimestamp: at,
      labels: { app: `app-${j}`, 'pod-template-hash': '7d9f8b6c5' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${j}-7d9f8b6c5`, uid: `rs-${j}`, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: node,
      containers: [{ name: 'app', image, ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '128Mi' } }, terminationMessagePath: '/dev/termination-log', imagePullPolicy: 'IfNotPresent' }],
      restartPolicy: 'Always',
      serviceAccountName: 'default',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    },
    status: {
      phase: 'Running',
      hostIP: nodeIp,
      podIP: `10.244.${j}.${j + 2}`,
      startTime: at,
      qosClass: 'Burstable',
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: at },
        { type: 'Ready', status: 'True', lastTransitionTime: at },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: at },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: at },
      ],
      containerStatuses: [{ name: 'app', ready: true, started: true, restartCount: 0, image, imageID: `${image}@sha256:${'ab'.repeat(32)}`, containerID: `containerd://${'cd'.repeat(32)}`, state: { running: { startedAt: at } } }],
    },
  };
}
