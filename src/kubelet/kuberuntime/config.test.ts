// Pod spec -> CRI configs (config.ts), table by table against what the upstream kubelet builds:
// kuberuntime_sandbox.go generatePodSandboxConfig, kuberuntime_container_linux.go
// (calculateLinuxResources, determineEffectiveSecurityContext), security_context_others.go
// verifyRunAsNonRoot, pkg/kubelet/qos/policy.go, kubelet_pods.go (makeEnvironmentVariables,
// managedHostsFileContent) and pkg/kubelet/network/dns (GetPodDNS).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ConfigMap, V1Container, V1Pod, V1PodSpec, V1Secret } from '@kubernetes/client-node';
import type { DNSConfig, Mount } from '../../runtime/index.js';
import {
  ContainerConfigError,
  containerLogPath,
  containerResources,
  containerSecurityContext,
  environmentWarnings,
  envReferences,
  fetchEnvSources,
  generateContainerConfig,
  generatePodSandboxConfig,
  makeEnvironment,
  managedHostsFile,
  podDNSConfig,
  podLogsDirectory,
  verifyRunAsNonRoot,
  type EnvContext,
  type NodeContext,
} from './config.js';
import { ObjectNotFoundError } from '../../util/objectcache.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const node: NodeContext = {
  nodeName: 'node-1',
  hostIP: '192.0.2.10',
  resolvConf: '# host resolver\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions timeout:2 attempts:3\n',
  clusterDNS: ['10.96.0.10'],
  clusterDomain: 'cluster.local',
  memoryCapacity: 8 * GiB,
  allocatableCpuMillis: 2000,
  allocatableMemory: 6 * GiB,
};
const noClusterDNS: NodeContext = { ...node, clusterDNS: [] };

const main: V1Container = { name: 'main', image: 'busybox', command: ['sleep', '3600'] };

function pod(spec: Partial<V1PodSpec> = {}, meta: Partial<NonNullable<V1Pod['metadata']>> = {}): V1Pod {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1', ...meta },
    spec: { containers: [main], ...spec },
  };
}

const hostsPreamble =
  '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';

// ------------------------------------------------------------------ sandbox

describe('generatePodSandboxConfig', () => {
  it('carries metadata with the attempt, the log directory <root>/<ns>_<name>_<uid> and the pod hostname', () => {
    const cfg = generatePodSandboxConfig(pod(), 3, node, '/var/log/pods');
    assert.deepEqual(cfg.metadata, { name: 'web', namespace: 'default', uid: 'uid-1', attempt: 3 });
    assert.equal(cfg.logDirectory, '/var/log/pods/default_web_uid-1');
    assert.equal(podLogsDirectory('/logs', pod()), '/logs/default_web_uid-1');
    assert.equal(cfg.hostname, 'web');
    assert.equal(cfg.linux?.cgroupParent, '');
  });

  it('labels: the pod labels plus io.kubernetes.pod.{name,namespace,uid}, the kubelet labels winning', () => {
    const p = pod({}, { labels: { app: 'web', tier: 'front', 'io.kubernetes.pod.name': 'spoofed' }, annotations: { note: 'hello' } });
    const cfg = generatePodSandboxConfig(p, 0, node, '/logs');
    assert.deepEqual(cfg.labels, {
      app: 'web',
      tier: 'front',
      'io.kubernetes.pod.name': 'web',
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': 'uid-1',
      'nodelet.dev/node-name': 'node-1',
    });
    assert.deepEqual(cfg.annotations, { note: 'hello' });
    assert.notEqual(cfg.annotations, p.metadata!.annotations, 'a copy, not the pod object');
  });

  const hostnames: [string, V1Pod, string][] = [
    ['the pod name', pod(), 'web'],
    ['spec.hostname over the name', pod({ hostname: 'custom' }), 'custom'],
    ['empty for a host-network pod (runc cannot set it without a UTS namespace)', pod({ hostNetwork: true, hostname: 'custom' }), ''],
    ['a long name truncated to 63 characters without a trailing dash', pod({}, { name: `${'a'.repeat(62)}-bbbbbbbb` }), 'a'.repeat(62)],
  ];
  for (const [name, p, want] of hostnames) {
    it(`hostname: ${name}`, () => assert.equal(generatePodSandboxConfig(p, 0, node, '/logs').hostname, want));
  }

  it('port mappings: every container port of the app containers, hostPort and hostIP included, protocol TCP by default', () => {
    const p = pod({
      initContainers: [{ name: 'init', image: 'busybox', ports: [{ containerPort: 9999 }] }],
      containers: [
        { name: 'a', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, protocol: 'UDP' }] },
        { name: 'b', image: 'busybox', ports: [{ containerPort: 443, hostPort: 8443, hostIP: '127.0.0.1', protocol: 'TCP' }] },
      ],
    });
    assert.deepEqual(generatePodSandboxConfig(p, 0, node, '/logs').portMappings, [
      { protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIp: '' },
      { protocol: 'UDP', containerPort: 53, hostPort: 0, hostIp: '' },
      { protocol: 'TCP', containerPort: 443, hostPort: 8443, hostIp: '127.0.0.1' },
    ]);
    assert.deepEqual(generatePodSandboxConfig(pod(), 0, node, '/logs').portMappings, []);
  });

  const namespaces: [string, Partial<V1PodSpec>, { network: string; pid: string; ipc: string }][] = [
    ['defaults', {}, { network: 'POD', pid: 'CONTAINER', ipc: 'POD' }],
    ['hostNetwork', { hostNetwork: true }, { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' }],
    ['hostPID', { hostPID: true }, { network: 'POD', pid: 'NODE', ipc: 'POD' }],
    ['hostIPC', { hostIPC: true }, { network: 'POD', pid: 'CONTAINER', ipc: 'NODE' }],
    ['shareProcessNamespace', { shareProcessNamespace: true }, { network: 'POD', pid: 'POD', ipc: 'POD' }],
    ['hostPID wins over shareProcessNamespace', { hostPID: true, shareProcessNamespace: true }, { network: 'POD', pid: 'NODE', ipc: 'POD' }],
  ];
  for (const [name, spec, want] of namespaces) {
    it(`namespace options: ${name}`, () => {
      assert.deepEqual(generatePodSandboxConfig(pod(spec), 0, node, '/logs').linux?.securityContext?.namespaceOptions, want);
    });
  }

  const privileged: [string, Partial<V1PodSpec>, boolean][] = [
    ['no privileged container', {}, false],
    ['an app container is privileged', { containers: [main, { name: 'p', image: 'busybox', securityContext: { privileged: true } }] }, true],
    ['an init container is privileged', { initContainers: [{ name: 'i', image: 'busybox', securityContext: { privileged: true } }] }, true],
    ['privileged: false', { containers: [{ ...main, securityContext: { privileged: false } }] }, false],
  ];
  for (const [name, spec, want] of privileged) {
    it(`privileged sandbox: ${name} -> ${want}`, () => {
      assert.equal(generatePodSandboxConfig(pod(spec), 0, node, '/logs').linux?.securityContext?.privileged, want);
    });
  }

  it('pod security context: runAsUser, runAsGroup, supplementalGroups with fsGroup, sysctls, seccomp', () => {
    const p = pod({
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 3000,
        supplementalGroups: [4000, 4001],
        fsGroup: 2000,
        sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }, { name: 'kernel.shm_rmid_forced', value: '1' }],
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });
    const cfg = generatePodSandboxConfig(p, 0, node, '/logs');
    const sc = cfg.linux!.securityContext!;
    assert.deepEqual(sc.runAsUser, { value: 1000 });
    assert.deepEqual(sc.runAsGroup, { value: 3000 });
    // upstream puts fsGroup first, then supplementalGroups; the set is what the runtime applies
    assert.deepEqual([...sc.supplementalGroups!].sort(), [2000, 4000, 4001]);
    assert.deepEqual(cfg.linux!.sysctls, { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1' });
    assert.deepEqual(sc.seccomp, { profileType: 'RuntimeDefault' });
  });

  it('without a pod security context: no user, no group, no groups, no sysctls, no seccomp profile', () => {
    const sc = generatePodSandboxConfig(pod(), 0, node, '/logs').linux!.securityContext!;
    assert.equal(sc.runAsUser, undefined);
    assert.equal(sc.runAsGroup, undefined);
    assert.deepEqual(sc.supplementalGroups, []);
    assert.equal(sc.seccomp, undefined);
    assert.deepEqual(generatePodSandboxConfig(pod(), 0, node, '/logs').linux!.sysctls, {});
  });

  it('seccomp Unconfined', () => {
    const sc = generatePodSandboxConfig(pod({ securityContext: { seccompProfile: { type: 'Unconfined' } } }), 0, node, '/logs').linux!.securityContext!;
    assert.deepEqual(sc.seccomp, { profileType: 'Unconfined' });
  });

  it(
    'seccomp Localhost: localhostRef is the profile under <root-dir>/seccomp (an absolute path)',
    () => {
      const p = pod({ securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/audit.json' } } });
      const sc = generatePodSandboxConfig(p, 0, node, '/logs').linux!.securityContext!;
      assert.equal(sc.seccomp?.profileType, 'Localhost');
      assert.match(sc.seccomp?.localhostRef ?? '', /^\/.*\/seccomp\/profiles\/audit\.json$/);
    },
  );

  it('carries the pod DNS config', () => {
    assert.deepEqual(generatePodSandboxConfig(pod({ dnsPolicy: 'Default' }), 0, node, '/logs').dnsConfig, {
      servers: ['192.0.2.53', '192.0.2.54'],
      searches: ['corp.example', 'lab.example'],
      options: ['timeout:2', 'attempts:3'],
    });
  });
});

// ------------------------------------------------------------------ DNS

describe('podDNSConfig', () => {
  const hostDNS: DNSConfig = { servers: ['192.0.2.53', '192.0.2.54'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'attempts:3'] };
  const clusterSearches = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example'];
  const clusterDNSConfig: DNSConfig = { servers: ['10.96.0.10'], searches: clusterSearches, options: ['ndots:5'] };

  const cases: [string, V1Pod, NodeContext, DNSConfig][] = [
    ['ClusterFirst with cluster DNS: cluster server, cluster searches before the host ones, ndots:5', pod({ dnsPolicy: 'ClusterFirst' }), node, clusterDNSConfig],
    ['no dnsPolicy means ClusterFirst', pod(), node, clusterDNSConfig],
    ['ClusterFirst searches use the pod namespace', pod({}, { namespace: 'kube-system' }), node, { ...clusterDNSConfig, searches: ['kube-system.svc.cluster.local', ...clusterSearches.slice(1)] }],
    ['ClusterFirst without cluster DNS falls back to the node resolv.conf', pod({ dnsPolicy: 'ClusterFirst' }), noClusterDNS, hostDNS],
    ['Default: the node resolv.conf', pod({ dnsPolicy: 'Default' }), node, hostDNS],
    ['None without dnsConfig: empty', pod({ dnsPolicy: 'None' }), node, { servers: [], searches: [], options: [] }],
    [
      'None + dnsConfig: only what the pod gives, options as name:value or name',
      pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['my.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }),
      node,
      { servers: ['1.1.1.1'], searches: ['my.example'], options: ['ndots:2', 'edns0'] },
    ],
    ['ClusterFirstWithHostNet on the host network: cluster DNS', pod({ dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }), node, clusterDNSConfig],
    ['ClusterFirstWithHostNet off the host network: cluster DNS', pod({ dnsPolicy: 'ClusterFirstWithHostNet' }), node, clusterDNSConfig],
    ['hostNetwork + ClusterFirst: Default', pod({ dnsPolicy: 'ClusterFirst', hostNetwork: true }), node, hostDNS],
    ['hostNetwork + no dnsPolicy: Default', pod({ hostNetwork: true }), node, hostDNS],
    [
      'dnsConfig is appended to ClusterFirst, duplicates dropped',
      pod({ dnsConfig: { nameservers: ['10.96.0.10', '9.9.9.9'], searches: ['cluster.local', 'extra.example'], options: [{ name: 'single-request-reopen' }] } }),
      node,
      { servers: ['10.96.0.10', '9.9.9.9'], searches: [...clusterSearches, 'extra.example'], options: ['ndots:5', 'single-request-reopen'] },
    ],
    [
      'at most 3 nameservers, the first ones kept',
      pod({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['8.8.8.8', '8.8.4.4'] } }),
      node,
      { ...hostDNS, servers: ['192.0.2.53', '192.0.2.54', '8.8.8.8'] },
    ],
  ];
  for (const [name, p, n, want] of cases) {
    it(name, () => assert.deepEqual(podDNSConfig(p, n), want));
  }

  it('at most 32 search domains, the first ones kept', () => {
    const searches = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const cfg = podDNSConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches } }), node);
    assert.deepEqual(cfg.searches, searches.slice(0, 32));
  });

  it('the node resolv.conf: the last search line wins, nameservers accumulate, comments are skipped', () => {
    const n = { ...node, resolvConf: 'search old.example\n; comment\nnameserver 10.0.0.1\n#nameserver 10.0.0.9\nsearch new.example other.example\nnameserver 10.0.0.2\n' };
    assert.deepEqual(podDNSConfig(pod({ dnsPolicy: 'Default' }), n), { servers: ['10.0.0.1', '10.0.0.2'], searches: ['new.example', 'other.example'], options: [] });
  });

  it(
    'ClusterFirst with cluster DNS but no cluster domain: only the host searches',
    () => {
      assert.deepEqual(podDNSConfig(pod(), { ...node, clusterDomain: '' }).searches, ['corp.example', 'lab.example']);
    },
  );

  it(
    'a dnsConfig option overrides the same option of the base config',
    () => {
      const cfg = podDNSConfig(pod({ dnsConfig: { options: [{ name: 'ndots', value: '2' }] } }), node);
      assert.deepEqual(cfg.options, ['ndots:2']);
    },
  );

  it(
    'the search line is cut to 2048 characters (MaxDNSSearchListChars)',
    () => {
      const searches = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(96)}.example`.slice(0, 100));
      const cfg = podDNSConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches } }), node);
      assert.ok(cfg.searches.join(' ').length <= 2048, `search line is ${cfg.searches.join(' ').length} chars`);
      assert.deepEqual(cfg.searches, searches.slice(0, 20));
    },
  );
});

// ------------------------------------------------------------------ /etc/hosts

describe('managedHostsFile', () => {
  it('without a subdomain: the localhost entries and "<ip>\\t<hostname>" per pod IP', () => {
    assert.equal(managedHostsFile(pod(), ['10.88.0.5'], 'cluster.local'), `${hostsPreamble}10.88.0.5\tweb\n`);
  });

  it('with a subdomain: the FQDN <hostname>.<subdomain>.<ns>.svc.<domain> then the hostname, for every pod IP', () => {
    const p = pod({ hostname: 'db-0', subdomain: 'db' });
    assert.equal(
      managedHostsFile(p, ['10.88.0.5', 'fd00::5'], 'cluster.local'),
      `${hostsPreamble}10.88.0.5\tdb-0.db.default.svc.cluster.local\tdb-0\nfd00::5\tdb-0.db.default.svc.cluster.local\tdb-0\n`,
    );
  });

  it('hostAliases go into their own section, one line per IP', () => {
    const p = pod({ hostAliases: [{ ip: '127.0.0.1', hostnames: ['foo.local', 'bar.local'] }, { ip: '10.1.2.3', hostnames: ['baz'] }] });
    assert.equal(
      managedHostsFile(p, ['10.88.0.5'], 'cluster.local'),
      `${hostsPreamble}10.88.0.5\tweb\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tbaz\n`,
    );
  });

  it('hostNetwork: the node hosts file, then the hostAliases', () => {
    const host = '127.0.0.1\tlocalhost\n192.0.2.10\tnode-1\n';
    assert.equal(managedHostsFile(pod({ hostNetwork: true }), ['192.0.2.10'], 'cluster.local', host), `# Kubernetes-managed hosts file (host network).\n${host}`);
    const withAliases = managedHostsFile(pod({ hostNetwork: true, hostAliases: [{ ip: '10.1.2.3', hostnames: ['baz'] }] }), ['192.0.2.10'], 'cluster.local', host);
    assert.ok(withAliases.includes(host));
    assert.ok(withAliases.endsWith('\n# Entries added by HostAliases.\n10.1.2.3\tbaz\n'));
    assert.ok(!withAliases.includes('\tweb'), 'no pod entry on the host network');
  });

  it(
    'hostNetwork: the copy starts with the "(host network)" managed header',
    () => {
      const host = '127.0.0.1\tlocalhost\n';
      assert.equal(managedHostsFile(pod({ hostNetwork: true }), [], 'cluster.local', host), `# Kubernetes-managed hosts file (host network).\n${host}`);
    },
  );
});

// ------------------------------------------------------------------ resources

describe('containerResources', () => {
  const withRes = (requests?: Record<string, string>, limits?: Record<string, string>): V1Container => ({ ...main, resources: { requests, limits } });
  const single = (c: V1Container): V1Pod => pod({ containers: [c] });

  const cpu: [string, V1Container, { cpuShares: number; cpuQuota?: number; cpuPeriod?: number }][] = [
    ['no cpu at all: the minimum 2 shares, no quota', main, { cpuShares: 2 }],
    ['request 250m: 256 shares', withRes({ cpu: '250m' }), { cpuShares: 256 }],
    ['request 1: 1024 shares', withRes({ cpu: '1' }), { cpuShares: 1024 }],
    ['request 1m: rounds below 2, so 2 shares', withRes({ cpu: '1m' }), { cpuShares: 2 }],
    ['limit only 500m: shares default to the limit, quota 50000 per 100000', withRes(undefined, { cpu: '500m' }), { cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000 }],
    ['request 100m limit 2: shares from the request, quota from the limit', withRes({ cpu: '100m' }, { cpu: '2' }), { cpuShares: 102, cpuQuota: 200_000, cpuPeriod: 100_000 }],
    ['limit 1m: quota at its 1000 minimum', withRes({ cpu: '1m' }, { cpu: '1m' }), { cpuShares: 2, cpuQuota: 1000, cpuPeriod: 100_000 }],
    ['limit 5m: quota 500 raised to 1000', withRes(undefined, { cpu: '5m' }), { cpuShares: 5, cpuQuota: 1000, cpuPeriod: 100_000 }],
  ];
  for (const [name, c, want] of cpu) {
    it(`cpu: ${name}`, () => {
      const r = containerResources(single(c), c, node.memoryCapacity);
      assert.equal(r.cpuShares, want.cpuShares);
      assert.equal(r.cpuQuota ?? 0, want.cpuQuota ?? 0);
      if (want.cpuPeriod !== undefined) assert.equal(r.cpuPeriod, want.cpuPeriod);
    });
  }

  it('memory: the limit in bytes, none without a limit', () => {
    const c = withRes({ memory: '64Mi' }, { memory: '128Mi' });
    assert.equal(containerResources(single(c), c, node.memoryCapacity).memoryLimitInBytes, 128 * MiB);
    const d = withRes({ memory: '64Mi' });
    assert.equal(containerResources(single(d), d, node.memoryCapacity).memoryLimitInBytes, undefined);
  });

  const oom: [string, V1Pod, V1Container, number][] = (() => {
    const guaranteed = withRes({ cpu: '100m', memory: '128Mi' }, { cpu: '100m', memory: '128Mi' });
    const burstable1G = withRes({ memory: '1Gi' });
    const burstableCpu = withRes({ cpu: '100m' });
    const burstableTiny = withRes({ memory: '1Ki' });
    const burstableHalf = withRes({ memory: '4Gi' }, { memory: '6Gi' });
    return [
      ['Guaranteed: -997', single(guaranteed), guaranteed, -997],
      ['BestEffort: 1000', single(main), main, 1000],
      ['Burstable, 1Gi of 8Gi requested: 1000 - 125 = 875', single(burstable1G), burstable1G, 875],
      ['Burstable, 4Gi of 8Gi requested: 500', single(burstableHalf), burstableHalf, 500],
      ['Burstable without a memory request: 1000 is lowered to 999', single(burstableCpu), burstableCpu, 999],
      ['Burstable, 1Ki requested: 999', single(burstableTiny), burstableTiny, 999],
      ['a BestEffort container in a Burstable pod uses the formula with request 0: 999', pod({ containers: [main, burstable1G] }), main, 999],
      ['status.qosClass wins over the spec', { ...single(main), status: { qosClass: 'Guaranteed' } }, main, -997],
    ];
  })();
  for (const [name, p, c, want] of oom) {
    it(`oomScoreAdj: ${name}`, () => assert.equal(containerResources(p, c, node.memoryCapacity).oomScoreAdj, want));
  }

  it('oomScoreAdj: a Burstable container requesting the whole node stays positive and below every Burstable score', () => {
    const c = withRes({ memory: '8Gi' });
    const adj = containerResources(single(c), c, node.memoryCapacity).oomScoreAdj!;
    assert.ok(adj >= 2 && adj <= 3, `got ${adj}`);
  });

  it(
    'oomScoreAdj: the Burstable floor is 1000 + guaranteedOOMScoreAdj = 3',
    () => {
      const c = withRes({ memory: '8Gi' });
      assert.equal(containerResources(single(c), c, node.memoryCapacity).oomScoreAdj, 3);
    },
  );

  it(
    'oomScoreAdj: a static pod with priorityClassName system-node-critical gets -997 whatever its QoS',
    () => {
      const c = withRes({ memory: '1Gi' });
      const p = pod({ containers: [c], priorityClassName: 'system-node-critical' }, { annotations: { 'kubernetes.io/config.source': 'file' } });
      assert.equal(containerResources(p, c, node.memoryCapacity).oomScoreAdj, -997);
    },
  );

  it(
    'cpu shares are capped at MaxShares 262144',
    () => {
      const c = withRes({ cpu: '300' });
      assert.equal(containerResources(single(c), c, node.memoryCapacity).cpuShares, 262_144);
    },
  );

  it(
    'an explicit zero cpu request with a limit takes its shares from the limit',
    () => {
      const c = withRes({ cpu: '0' }, { cpu: '500m' });
      assert.equal(containerResources(single(c), c, node.memoryCapacity).cpuShares, 512);
    },
  );
});

// ------------------------------------------------------------------ security context

describe('containerSecurityContext', () => {
  const defaultMasked = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];

  it('capabilities add and drop', () => {
    const c: V1Container = { ...main, securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } } };
    assert.deepEqual(containerSecurityContext(pod({ containers: [c] }), c).capabilities, { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['ALL'] });
    assert.equal(containerSecurityContext(pod(), main).capabilities, undefined);
  });

  const users: [string, V1Pod, V1Container, { user?: number; group?: number }][] = [
    ['none', pod(), main, {}],
    ['from the pod', pod({ securityContext: { runAsUser: 1000, runAsGroup: 3000 } }), main, { user: 1000, group: 3000 }],
    ['the container overrides the pod', pod({ securityContext: { runAsUser: 1000, runAsGroup: 3000 } }), { ...main, securityContext: { runAsUser: 2000, runAsGroup: 4000 } }, { user: 2000, group: 4000 }],
    ['runAsUser 0 in the container overrides the pod', pod({ securityContext: { runAsUser: 1000 } }), { ...main, securityContext: { runAsUser: 0 } }, { user: 0 }],
  ];
  for (const [name, p, c, want] of users) {
    it(`runAsUser/runAsGroup: ${name}`, () => {
      const sc = containerSecurityContext(p, c);
      assert.deepEqual(sc.runAsUser, want.user === undefined ? undefined : { value: want.user });
      assert.deepEqual(sc.runAsGroup, want.group === undefined ? undefined : { value: want.group });
    });
  }

  const noNewPrivs: [string, boolean | undefined, boolean][] = [
    ['unset', undefined, false],
    ['allowPrivilegeEscalation true', true, false],
    ['allowPrivilegeEscalation false', false, true],
  ];
  for (const [name, ape, want] of noNewPrivs) {
    it(`noNewPrivs: ${name} -> ${want}`, () => {
      const c: V1Container = { ...main, securityContext: ape === undefined ? {} : { allowPrivilegeEscalation: ape } };
      assert.equal(containerSecurityContext(pod({ containers: [c] }), c).noNewPrivs, want);
    });
  }

  it('readonlyRootfs and privileged', () => {
    const c: V1Container = { ...main, securityContext: { readOnlyRootFilesystem: true } };
    assert.equal(containerSecurityContext(pod(), c).readonlyRootfs, true);
    assert.equal(containerSecurityContext(pod(), main).readonlyRootfs, false);
    assert.equal(containerSecurityContext(pod(), main).privileged, false);
    assert.equal(containerSecurityContext(pod(), { ...main, securityContext: { privileged: true } }).privileged, true);
  });

  it('masked and readonly paths: the defaults, none for a privileged container or procMount Unmasked', () => {
    const def = containerSecurityContext(pod(), main);
    assert.deepEqual([...def.maskedPaths!].sort(), [...defaultMasked].sort());
    assert.ok(def.readonlyPaths!.includes('/proc/sys') && def.readonlyPaths!.includes('/proc/sysrq-trigger'));
    const priv = containerSecurityContext(pod(), { ...main, securityContext: { privileged: true } });
    assert.deepEqual([priv.maskedPaths, priv.readonlyPaths], [[], []]);
    const unmasked = containerSecurityContext(pod(), { ...main, securityContext: { procMount: 'Unmasked' } });
    assert.deepEqual([unmasked.maskedPaths, unmasked.readonlyPaths], [[], []]);
    const defaultMount = containerSecurityContext(pod(), { ...main, securityContext: { procMount: 'Default' } });
    assert.deepEqual(defaultMount.maskedPaths, def.maskedPaths);
  });

  it(
    'default masked paths are current upstream\'s (kept in sync with moby)',
    () => {
      const sc = containerSecurityContext(pod(), main);
      assert.ok(sc.maskedPaths!.includes('/proc/asound'));
      assert.ok(sc.maskedPaths!.includes('/sys/devices/virtual/powercap'));
      assert.deepEqual([...sc.readonlyPaths!].sort(), ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    },
  );

  it('seccomp: the container profile over the pod one, the pod one otherwise, none when neither sets one', () => {
    const p = pod({ securityContext: { seccompProfile: { type: 'RuntimeDefault' } } });
    assert.deepEqual(containerSecurityContext(p, main).seccomp, { profileType: 'RuntimeDefault' });
    assert.deepEqual(containerSecurityContext(p, { ...main, securityContext: { seccompProfile: { type: 'Unconfined' } } }).seccomp, { profileType: 'Unconfined' });
    assert.equal(containerSecurityContext(pod(), main).seccomp, undefined);
  });

  it('namespace options follow the pod, supplementalGroups include fsGroup', () => {
    const p = pod({ hostPID: true, hostIPC: true, securityContext: { supplementalGroups: [5000], fsGroup: 2000 } });
    const sc = containerSecurityContext(p, main);
    assert.deepEqual(sc.namespaceOptions, { network: 'POD', pid: 'NODE', ipc: 'NODE' });
    assert.deepEqual([...sc.supplementalGroups!].sort(), [2000, 5000]);
    assert.equal(containerSecurityContext(pod(), main).supplementalGroups, undefined);
  });
});

// ------------------------------------------------------------------ runAsNonRoot

describe('verifyRunAsNonRoot', () => {
  const nonRootPod = (runAsUser?: number): V1Pod => pod({ securityContext: { runAsNonRoot: true, ...(runAsUser !== undefined ? { runAsUser } : {}) } });
  const cases: [string, V1Pod, V1Container, { uid?: number; username: string }, RegExp | null][] = [
    ['runAsNonRoot unset: no check, even for root', pod(), main, { uid: 0, username: '' }, null],
    ['runAsNonRoot false: no check', pod({ securityContext: { runAsNonRoot: false } }), main, { uid: 0, username: '' }, null],
    ['runAsUser 0 breaks the policy', nonRootPod(0), main, { uid: 1000, username: '' }, /runAsUser breaks non-root policy/],
    ['container runAsUser 0 breaks the pod policy', nonRootPod(), { ...main, securityContext: { runAsUser: 0 } }, { uid: 1000, username: '' }, /runAsUser breaks non-root policy/],
    ['a non-zero runAsUser passes whatever the image says', nonRootPod(1000), main, { uid: 0, username: '' }, null],
    ['image uid 0', nonRootPod(), main, { uid: 0, username: '' }, /image will run as root/],
    ['image username root', nonRootPod(), main, { username: 'root' }, /(image will run as root|non-numeric user)/],
    ['image without a user (root)', nonRootPod(), main, { username: '' }, /image will run as root/],
    ['image with a non-numeric user cannot be verified', nonRootPod(), main, { username: 'nobody' }, /non-numeric user \(nobody\), cannot verify user is non-root/],
    ['image with numeric uid 65534', nonRootPod(), main, { uid: 65534, username: '' }, null],
    ['image with numeric username 1000', nonRootPod(), main, { username: '1000' }, null],
    ['the container runAsNonRoot false overrides the pod', nonRootPod(), { ...main, securityContext: { runAsNonRoot: false } }, { uid: 0, username: '' }, null],
    ['the container runAsNonRoot true without a pod setting', pod(), { ...main, securityContext: { runAsNonRoot: true } }, { uid: 0, username: '' }, /image will run as root/],
  ];
  for (const [name, p, c, user, err] of cases) {
    it(`${name} -> ${err ? 'error' : 'ok'}`, () => {
      if (!err) {
        verifyRunAsNonRoot(p, c, user);
        return;
      }
      assert.throws(
        () => verifyRunAsNonRoot(p, c, user),
        (e: unknown) => e instanceof ContainerConfigError && err.test(e.message) && e.message.includes('web_default(uid-1)') && e.message.includes('container: main'),
      );
    });
  }
});

// ------------------------------------------------------------------ environment

describe('makeEnvironment', () => {
  const p = pod(
    { nodeName: 'node-a', serviceAccountName: 'sa-1' },
    { labels: { app: 'web' }, annotations: { 'example.com/note': 'hi there' } },
  );
  const env = (c: V1Container, thePod: V1Pod = p, podIPs = ['10.88.0.7', 'fd00::7']): Record<string, string> =>
    Object.fromEntries(makeEnvironment(c, { pod: thePod, podIPs, node }).map((kv) => [kv.key, kv.value]));

  it('plain values, $(VAR) of earlier variables, unknown and later ones kept, $$(VAR) escaped', () => {
    const c: V1Container = {
      ...main,
      env: [
        { name: 'A', value: 'alpha' },
        { name: 'B', value: '$(A)-beta' },
        { name: 'C', value: '$(LATER) $(MISSING)' },
        { name: 'D', value: '$$(A) $$$(A)' },
        { name: 'LATER', value: 'late' },
        { name: 'E', value: '' },
      ],
    };
    assert.deepEqual(env(c), { A: 'alpha', B: 'alpha-beta', C: '$(LATER) $(MISSING)', D: '$(A) $alpha', LATER: 'late', E: '' });
  });

  it('a repeated name takes the later value, in the first position', () => {
    const c: V1Container = { ...main, env: [{ name: 'X', value: '1' }, { name: 'Y', value: '$(X)' }, { name: 'X', value: '2' }] };
    assert.deepEqual(makeEnvironment(c, { pod: p, podIPs: [], node }), [
      { key: 'X', value: '2' },
      { key: 'Y', value: '1' },
    ]);
  });

  const fieldRefs: [string, string, string][] = [
    ['metadata.name', 'metadata.name', 'web'],
    ['metadata.namespace', 'metadata.namespace', 'default'],
    ['metadata.uid', 'metadata.uid', 'uid-1'],
    ["metadata.labels['app']", "metadata.labels['app']", 'web'],
    ['a missing label is empty', "metadata.labels['missing']", ''],
    ["metadata.annotations['example.com/note']", "metadata.annotations['example.com/note']", 'hi there'],
    ['spec.nodeName', 'spec.nodeName', 'node-a'],
    ['spec.serviceAccountName', 'spec.serviceAccountName', 'sa-1'],
    ['status.podIP: the first pod IP', 'status.podIP', '10.88.0.7'],
    ['status.podIPs', 'status.podIPs', '10.88.0.7,fd00::7'],
    ['status.hostIP', 'status.hostIP', '192.0.2.10'],
  ];
  for (const [name, path, want] of fieldRefs) {
    it(`fieldRef ${name}`, () => {
      const c: V1Container = { ...main, env: [{ name: 'V', valueFrom: { fieldRef: { fieldPath: path } } }] };
      assert.equal(env(c).V, want);
    });
  }

  it('spec.nodeName falls back to the node name (a pod not yet bound)', () => {
    const c: V1Container = { ...main, env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] };
    assert.equal(env(c, pod()).N, 'node-1');
  });

  it('valueFrom variables can be referenced by later values but are not expanded themselves', () => {
    const c: V1Container = {
      ...main,
      env: [
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'URL', value: 'http://$(POD).default:80' },
      ],
    };
    assert.equal(env(c).URL, 'http://web.default:80');
    const q = pod({}, { labels: { tpl: '$(POD)' } });
    const d: V1Container = { ...main, env: [{ name: 'POD', value: 'x' }, { name: 'L', valueFrom: { fieldRef: { fieldPath: "metadata.labels['tpl']" } } }] };
    assert.equal(env(d, q).L, '$(POD)');
  });

  it('an unsupported fieldPath is a ContainerConfigError', () => {
    const c: V1Container = { ...main, env: [{ name: 'V', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] };
    assert.throws(() => env(c), ContainerConfigError);
  });

  const resourceRefs: [string, V1Container['resources'], { resource: string; divisor?: string }, string][] = [
    ['limits.cpu divisor 1m', { limits: { cpu: '500m' } }, { resource: 'limits.cpu', divisor: '1m' }, '500'],
    ['limits.cpu default divisor 1 rounds up', { limits: { cpu: '250m' } }, { resource: 'limits.cpu' }, '1'],
    ['limits.cpu 3 cores', { limits: { cpu: '3' } }, { resource: 'limits.cpu' }, '3'],
    ['limits.cpu without a limit: node allocatable', undefined, { resource: 'limits.cpu', divisor: '1m' }, '2000'],
    ['limits.memory divisor 1Mi', { limits: { memory: '128Mi' } }, { resource: 'limits.memory', divisor: '1Mi' }, '128'],
    ['limits.memory in bytes', { limits: { memory: '128Mi' } }, { resource: 'limits.memory' }, String(128 * MiB)],
    ['limits.memory divisor 1Mi rounds up', { limits: { memory: '1500Ki' } }, { resource: 'limits.memory', divisor: '1Mi' }, '2'],
    ['limits.memory without a limit: node allocatable', undefined, { resource: 'limits.memory', divisor: '1Mi' }, '6144'],
    ['requests.cpu divisor 1m', { requests: { cpu: '250m' } }, { resource: 'requests.cpu', divisor: '1m' }, '250'],
    ['requests.memory divisor 1Mi', { requests: { memory: '64Mi' } }, { resource: 'requests.memory', divisor: '1Mi' }, '64'],
  ];
  for (const [name, resources, ref, want] of resourceRefs) {
    it(`resourceFieldRef ${name} -> ${want}`, () => {
      const c: V1Container = { ...main, resources, env: [{ name: 'R', valueFrom: { resourceFieldRef: ref } }] };
      assert.equal(env(c, pod({ containers: [c] })).R, want);
    });
  }

  it('resourceFieldRef with containerName reads that container', () => {
    const other: V1Container = { name: 'side', image: 'busybox', resources: { limits: { memory: '32Mi' } } };
    const c: V1Container = { ...main, env: [{ name: 'R', valueFrom: { resourceFieldRef: { containerName: 'side', resource: 'limits.memory', divisor: '1Mi' } } }] };
    assert.equal(env(c, pod({ containers: [c, other] })).R, '32');
  });

  it(
    'resourceFieldRef limits.cpu is exact in millicores (4001m / 1m = 4001, 70m / 10m = 7)',
    () => {
      const a: V1Container = { ...main, resources: { limits: { cpu: '4001m' } }, env: [{ name: 'R', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } }] };
      assert.equal(env(a, pod({ containers: [a] })).R, '4001');
      const b: V1Container = { ...main, resources: { limits: { cpu: '70m' } }, env: [{ name: 'R', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '10m' } } }] };
      assert.equal(env(b, pod({ containers: [b] })).R, '7');
    },
  );

  it('configMapKeyRef: a ContainerConfigError naming the configmap, unless optional (then skipped)', () => {
    const c: V1Container = { ...main, env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'k' } } }] };
    assert.throws(() => env(c), (e: unknown) => e instanceof ContainerConfigError && /configmap "app-config"/.test(e.message));
    const opt: V1Container = { ...main, env: [{ name: 'A', value: '1' }, { name: 'K', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'k', optional: true } } }] };
    assert.deepEqual(env(opt), { A: '1' });
  });

  it('secretKeyRef: a ContainerConfigError naming the secret, unless optional', () => {
    const c: V1Container = { ...main, env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }] };
    assert.throws(() => env(c), (e: unknown) => e instanceof ContainerConfigError && /secret "creds"/.test(e.message));
    const opt: V1Container = { ...main, env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 'creds', key: 'password', optional: true } } }] };
    assert.deepEqual(env(opt), {});
  });

  it('envFrom: a secretRef or configMapRef is a ContainerConfigError naming it; an optional one is ignored', () => {
    assert.throws(() => env({ ...main, envFrom: [{ secretRef: { name: 'creds' } }] }), (e: unknown) => e instanceof ContainerConfigError && /secret "creds"/.test(e.message));
    assert.throws(() => env({ ...main, envFrom: [{ configMapRef: { name: 'cfg' } }] }), (e: unknown) => e instanceof ContainerConfigError && /configmap "cfg"/.test(e.message));
    assert.deepEqual(env({ ...main, envFrom: [{ configMapRef: { name: 'cfg', optional: true } }], env: [{ name: 'A', value: '1' }] }), { A: '1' });
  });
});

// ------------------------------------------------------------------ environment from ConfigMaps and Secrets

describe('makeEnvironment with ConfigMaps and Secrets (cluster mode)', () => {
  const p = pod({}, { namespace: 'team' });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const cm = (name: string, data: Record<string, string>): V1ConfigMap => ({ metadata: { name, namespace: 'team' }, data });
  const sec = (name: string, data: Record<string, string>): V1Secret => ({ metadata: { name, namespace: 'team' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });
  const ctx: EnvContext = {
    pod: p,
    podIPs: [],
    node,
    configMaps: new Map<string, V1ConfigMap | null | Error>([
      ['cfg', cm('cfg', { LEVEL: 'debug', MODE: 'fast', 'bad key': 'x', '1st': 'y' })],
      ['other', cm('other', { LEVEL: 'info' })],
      ['gone', null],
      ['denied', new Error('configmaps "denied" is forbidden: User "system:node:n" cannot get resource "configmaps"')],
    ]),
    secrets: new Map<string, V1Secret | null | Error>([
      ['creds', sec('creds', { password: 's3cr=t', user: 'admin' })],
      ['lost', null],
    ]),
  };
  const env = (c: Partial<V1Container>, x: EnvContext = ctx): Record<string, string> =>
    Object.fromEntries(makeEnvironment({ ...main, ...c }, x).map((kv) => [kv.key, kv.value]));
  const fails = (c: Partial<V1Container>, msg: string): void => {
    assert.throws(() => env(c), (e: unknown) => e instanceof ContainerConfigError && e.message === msg);
  };

  it('configMapKeyRef and secretKeyRef values (secret values base64-decoded)', () => {
    assert.deepEqual(
      env({ env: [{ name: 'L', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } }, { name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }] }),
      { L: 'debug', P: 's3cr=t' },
    );
  });

  const failures: [string, Partial<V1Container>, string][] = [
    ['missing configmap (env)', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }] }, 'configmap "gone" not found'],
    ['missing secret (env)', { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'lost', key: 'k' } } }] }, 'secret "lost" not found'],
    ['missing configmap (envFrom)', { envFrom: [{ configMapRef: { name: 'gone' } }] }, 'configmap "gone" not found'],
    ['missing secret (envFrom)', { envFrom: [{ secretRef: { name: 'lost' } }] }, 'secret "lost" not found'],
    ['a configmap not handed in counts as missing', { envFrom: [{ configMapRef: { name: 'never-fetched' } }] }, 'configmap "never-fetched" not found'],
    ['missing key in a ConfigMap', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NOPE' } } }] }, "couldn't find key NOPE in ConfigMap team/cfg"],
    ['missing key in a Secret', { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }] }, "couldn't find key token in Secret team/creds"],
    [
      'a read error (not a 404) fails even an optional reference, with the API message',
      { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'denied', key: 'k', optional: true } } }] },
      'configmaps "denied" is forbidden: User "system:node:n" cannot get resource "configmaps"',
    ],
  ];
  for (const [name, c, msg] of failures) it(`${name}: ${msg}`, () => fails(c, msg));

  it('optional references to missing objects or keys are skipped', () => {
    assert.deepEqual(
      env({
        envFrom: [{ configMapRef: { name: 'gone', optional: true } }, { secretRef: { name: 'lost', optional: true } }],
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k', optional: true } } },
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NOPE', optional: true } } },
          { name: 'C', valueFrom: { secretKeyRef: { name: 'creds', key: 'NOPE', optional: true } } },
          { name: 'D', value: 'd' },
        ],
      }),
      { D: 'd' },
    );
  });

  it('envFrom first (in order, prefix applied, invalid names skipped), then env overrides; $(VAR) sees envFrom values', () => {
    const out = makeEnvironment(
      {
        ...main,
        envFrom: [{ configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'other' } }, { secretRef: { name: 'creds' }, prefix: 'DB_' }],
        env: [{ name: 'MODE', value: 'slow' }, { name: 'URL', value: 'db://$(DB_user)@$(LEVEL)' }],
      },
      ctx,
    );
    assert.deepEqual(
      out.map((kv) => [kv.key, kv.value]),
      [
        ['LEVEL', 'info'], // the later envFrom source wins
        ['MODE', 'slow'], // env overrides envFrom
        ['DB_password', 's3cr=t'],
        ['DB_user', 'admin'],
        ['URL', 'db://admin@info'],
      ],
    );
  });

  it('InvalidEnvironmentVariableNames: the skipped keys of each envFrom source, sorted, as the kubelet words it', () => {
    const c: V1Container = { ...main, envFrom: [{ configMapRef: { name: 'cfg' } }, { secretRef: { name: 'creds' }, prefix: '9' }, { configMapRef: { name: 'other' } }] };
    assert.deepEqual(environmentWarnings(c, ctx), [
      'Keys [1st, bad key] from the EnvFrom configMap team/cfg were skipped since they are considered invalid environment variable names.',
      'Keys [9password, 9user] from the EnvFrom secret team/creds were skipped since they are considered invalid environment variable names.',
    ]);
    assert.deepEqual(environmentWarnings({ ...main, envFrom: [{ configMapRef: { name: 'other' } }] }, ctx), []);
  });

  it('envReferences lists each ConfigMap and Secret once', () => {
    assert.deepEqual(
      envReferences({
        ...main,
        envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's' } }],
        env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'a', key: 'k' } } }, { name: 'Y', valueFrom: { configMapKeyRef: { name: 'b', key: 'k' } } }, { name: 'Z', valueFrom: { secretKeyRef: { name: 't', key: 'k' } } }],
      }),
      { configMaps: ['a', 'b'], secrets: ['s', 't'] },
    );
  });

  it('fetchEnvSources: objects, null for a 404, the error otherwise; nothing without getters', async () => {
    const asked: string[] = [];
    const got = await fetchEnvSources(p, { ...main, envFrom: [{ configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'gone' } }, { secretRef: { name: 'boom' } }] }, {
      configMaps: {
        getConfigMap: async (ns, name) => {
          asked.push(`${ns}/${name}`);
          if (name === 'gone') throw new ObjectNotFoundError('configmap', ns, name);
          return cm(name, { A: '1' });
        },
      },
      secrets: {
        getSecret: async () => {
          throw new Error('connection refused');
        },
      },
    });
    assert.deepEqual(asked.sort(), ['team/cfg', 'team/gone']);
    assert.equal((got.configMaps?.get('cfg') as V1ConfigMap).data?.A, '1');
    assert.equal(got.configMaps?.get('gone'), null);
    assert.equal((got.secrets?.get('boom') as Error).message, 'connection refused');
    assert.deepEqual(await fetchEnvSources(p, { ...main, envFrom: [{ configMapRef: { name: 'cfg' } }] }, {}), {});
  });
});

// ------------------------------------------------------------------ container config

describe('generateContainerConfig', () => {
  const c: V1Container = {
    name: 'app',
    image: 'registry.example/app:1.2',
    command: ['sh', '-c', 'echo $(GREETING) $$(GREETING)'],
    args: ['$(TARGET)', '$(UNSET)'],
    workingDir: '/work',
    env: [
      { name: 'GREETING', value: 'hello' },
      { name: 'TARGET', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    ports: [{ containerPort: 8080 }],
    tty: true,
    stdin: true,
    resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
    securityContext: { readOnlyRootFilesystem: true },
  };
  const p = pod({ containers: [c], terminationGracePeriodSeconds: 5 });
  const mounts: Mount[] = [
    { containerPath: '/etc/hosts', hostPath: '/var/lib/kubelet/pods/uid-1/etc-hosts' },
    { containerPath: '/data', hostPath: '/srv/data', readonly: true, propagation: 'PROPAGATION_PRIVATE' },
  ];
  const cfg = generateContainerConfig({ pod: p, container: c, type: 'containers', restartCount: 3, hash: 'abc123', imageRef: 'sha256:feed', podIPs: ['10.88.0.9'], node, mounts });

  it('metadata attempt is the restart count; the image is the resolved ref with the user-specified name', () => {
    assert.deepEqual(cfg.metadata, { name: 'app', attempt: 3 });
    assert.deepEqual(cfg.image, { image: 'sha256:feed', userSpecifiedImage: 'registry.example/app:1.2' });
  });

  it('command and args are expanded from the final environment', () => {
    assert.deepEqual(cfg.command, ['sh', '-c', 'echo hello $(GREETING)']);
    assert.deepEqual(cfg.args, ['web', '$(UNSET)']);
    assert.deepEqual(cfg.envs, [
      { key: 'GREETING', value: 'hello' },
      { key: 'TARGET', value: 'web' },
    ]);
    assert.equal(cfg.workingDir, '/work');
  });

  it('labels name the pod and container; annotations carry the hash, restart count, grace period and ports', () => {
    assert.deepEqual(cfg.labels, {
      'io.kubernetes.pod.name': 'web',
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': 'uid-1',
      'io.kubernetes.container.name': 'app',
      'io.kubernetes.container.type': 'containers',
      'nodelet.dev/node-name': 'node-1',
    });
    assert.equal(cfg.annotations?.['io.kubernetes.container.hash'], 'abc123');
    assert.equal(cfg.annotations?.['io.kubernetes.container.restartCount'], '3');
    assert.equal(cfg.annotations?.['io.kubernetes.pod.terminationGracePeriod'], '5');
    assert.equal(cfg.annotations?.['io.kubernetes.container.terminationMessagePath'], '/dev/termination-log');
    assert.deepEqual(JSON.parse(cfg.annotations?.['io.kubernetes.container.ports'] ?? 'null'), [{ containerPort: 8080 }]);
  });

  it('logPath is <name>/<restartCount>.log, relative to the sandbox log directory', () => {
    assert.equal(cfg.logPath, 'app/3.log');
    assert.equal(containerLogPath('x', 0), 'x/0.log');
  });

  it('mounts are passed through; tty/stdin flags; linux resources and security context', () => {
    assert.deepEqual(cfg.mounts, mounts);
    assert.equal(cfg.tty, true);
    assert.equal(cfg.stdin, true);
    assert.equal(cfg.stdinOnce, false);
    assert.equal(cfg.linux?.resources?.cpuShares, 256);
    assert.equal(cfg.linux?.resources?.cpuQuota, 50_000);
    assert.equal(cfg.linux?.resources?.memoryLimitInBytes, 128 * MiB);
    assert.equal(cfg.linux?.securityContext?.readonlyRootfs, true);
  });

  it('an init container is labelled init-containers', () => {
    const init = generateContainerConfig({ pod: p, container: main, type: 'init-containers', restartCount: 0, hash: 'h', imageRef: 'sha256:x', podIPs: [], node, mounts: [] });
    assert.equal(init.labels?.['io.kubernetes.container.type'], 'init-containers');
    assert.equal(init.logPath, 'main/0.log');
    assert.deepEqual(init.metadata, { name: 'main', attempt: 0 });
  });

  it('an unresolvable env source fails the whole config with ContainerConfigError', () => {
    const bad: V1Container = { ...main, env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 'creds', key: 'k' } } }] };
    assert.throws(
      () => generateContainerConfig({ pod: p, container: bad, type: 'containers', restartCount: 0, hash: 'h', imageRef: 'sha256:x', podIPs: [], node, mounts: [] }),
      ContainerConfigError,
    );
  });
});
