// describePod's text, Go's tabwriter alignment, and `nodelet get pods` / `nodelet describe pod`
// end to end against an in-process fake of the local API (GET /pods, /events).

process.env['TZ'] = 'UTC';

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { describePod, formatRFC1123Z, tabwriterFormat, type EventItem } from './describe.js';
import { runInProcess } from './testing.js';

/** RFC 3339 to the second, `s` seconds before `now`. */
const at = (now: number, s: number): string => new Date(now - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

/** A static pod with an init container, a running container and a crash-looping one. */
function richPod(now: number): V1Pod {
  const ago = (s: number): string => at(now, s);
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: 'web-node1',
      namespace: 'default',
      uid: '6f1c0c3e5b2a',
      creationTimestamp: ago(600),
      labels: { tier: 'frontend', app: 'web' },
      annotations: { 'kubernetes.io/config.hash': '6f1c0c3e5b2a', 'kubernetes.io/config.seen': '2026-11-24T02:49:59.5Z', 'kubernetes.io/config.source': 'file' },
    },
    spec: {
      nodeName: 'node1',
      priority: 0,
      initContainers: [{ name: 'setup', image: 'localhost/busybox:latest', command: ['sh', '-c', 'echo init > /work/ready'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
      containers: [
        {
          name: 'web',
          image: 'localhost/busybox:latest',
          command: ['sh', '-c'],
          args: ['httpd -f -p 8080'],
          ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }],
          env: [
            { name: 'GREETING', value: 'hello' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            { name: 'NODE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
          ],
          resources: { limits: { memory: '64Mi', cpu: '500m' }, requests: { cpu: '250m', memory: '32Mi' } },
          livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 3, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
          readinessProbe: { exec: { command: ['cat', '/work/ready'] }, periodSeconds: 5 },
          volumeMounts: [
            { name: 'work', mountPath: '/work' },
            { name: 'logs', mountPath: '/var/log/web', readOnly: true },
          ],
        },
        { name: 'sidecar', image: 'localhost/busybox:latest', command: ['sh', '-c', 'exit 1'] },
      ],
      volumes: [
        { name: 'work', emptyDir: {} },
        { name: 'logs', hostPath: { path: '/var/log/web', type: 'DirectoryOrCreate' } },
      ],
      tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
    },
    status: {
      phase: 'Running',
      hostIP: '192.168.1.10',
      hostIPs: [{ ip: '192.168.1.10' }],
      podIP: '10.88.0.7',
      podIPs: [{ ip: '10.88.0.7' }],
      startTime: ago(600),
      qosClass: 'Burstable',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True' },
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
        { type: 'ContainersReady', status: 'False' },
        { type: 'PodScheduled', status: 'True' },
      ],
      initContainerStatuses: [
        { name: 'setup', image: 'localhost/busybox:latest', imageID: 'sha256:aaa', containerID: 'containerd://1111', ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: ago(598), finishedAt: ago(597) } } },
      ],
      containerStatuses: [
        { name: 'web', image: 'localhost/busybox:latest', imageID: 'sha256:aaa', containerID: 'containerd://2222', ready: true, started: true, restartCount: 0, state: { running: { startedAt: ago(595) } } },
        {
          name: 'sidecar',
          image: 'localhost/busybox:latest',
          imageID: 'sha256:aaa',
          containerID: 'containerd://3333',
          ready: false,
          started: false,
          restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=sidecar' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: ago(25), finishedAt: ago(24) } },
        },
      ],
    },
  } as unknown as V1Pod;
}

function richEvents(now: number): EventItem[] {
  const obj = { kind: 'Pod', name: 'web-node1', namespace: 'default', uid: '6f1c0c3e5b2a' };
  return [
    {
      involvedObject: { ...obj, fieldPath: 'spec.containers{sidecar}' },
      type: 'Warning',
      reason: 'BackOff',
      message: 'Back-off restarting failed container sidecar in pod web-node1_default(6f1c0c3e5b2a)',
      count: 3,
      firstTimestamp: at(now, 70),
      lastTimestamp: at(now, 12),
    },
    { involvedObject: { ...obj, fieldPath: 'spec.containers{web}' }, type: 'Normal', reason: 'Started', message: 'Started container web\n', count: 1, firstTimestamp: at(now, 595), lastTimestamp: at(now, 595) },
  ];
}

const NOW = Date.parse('2026-11-24T03:00:00Z');

describe('tabwriterFormat (Go text/tabwriter, padding 2)', () => {
  it('aligns a column over consecutive lines that have it; a line without a tab ends the block', () => {
    assert.equal(tabwriterFormat('Name:\tx\nNamespace:\tdefault\nIPs:\n  IP:\t10.0.0.1\n'), 'Name:       x\nNamespace:  default\nIPs:\n  IP:  10.0.0.1\n');
  });
  it("the last cell is never padded, an empty one leaves the previous cell's padding", () => {
    assert.equal(tabwriterFormat('a\tb\tc\naaaa\tb\n    Medium:\t\n'), 'a            b  c\naaaa         b\n    Medium:  \n');
  });
  it('nested columns align within their own block', () => {
    assert.equal(tabwriterFormat('Type\tReason\tAge\n----\t------\t---\nNormal\tStarted\t5s\n'), 'Type    Reason   Age\n----    ------   ---\nNormal  Started  5s\n');
  });
});

describe('formatRFC1123Z', () => {
  it("Go's time.RFC1123Z, and Go's zero time for a missing time", () => {
    assert.equal(formatRFC1123Z('2026-11-24T02:07:25Z'), 'Tue, 24 Nov 2026 02:07:25 +0000');
    assert.equal(formatRFC1123Z(undefined), 'Mon, 01 Jan 0001 00:00:00 +0000');
  });
});

describe('describePod', () => {
  const text = describePod(richPod(NOW), richEvents(NOW), NOW);
  const lines = text.split('\n');
  const has = (line: string): void => assert.ok(lines.includes(line), `missing line ${JSON.stringify(line)} in:\n${text}`);

  it('header: name, namespace, priority, node/hostIP, start time, labels and annotations sorted', () => {
    assert.deepEqual(lines.slice(0, 16), [
      'Name:         web-node1',
      'Namespace:    default',
      'Priority:     0',
      'Node:         node1/192.168.1.10',
      'Start Time:   Tue, 24 Nov 2026 02:50:00 +0000',
      'Labels:       app=web',
      '              tier=frontend',
      'Annotations:  kubernetes.io/config.hash: 6f1c0c3e5b2a',
      '              kubernetes.io/config.seen: 2026-11-24T02:49:59.5Z',
      '              kubernetes.io/config.source: file',
      'Status:       Running',
      'IP:           10.88.0.7',
      'IPs:',
      '  IP:  10.88.0.7',
      'Init Containers:',
      '  setup:',
    ]);
  });

  it('init container: terminated state with reason, exit code, times', () => {
    const i = lines.indexOf('  setup:');
    assert.deepEqual(lines.slice(i + 1, i + 22), [
      '    Container ID:  containerd://1111',
      '    Image:         localhost/busybox:latest',
      '    Image ID:      sha256:aaa',
      '    Port:          <none>',
      '    Host Port:     <none>',
      '    Command:',
      '      sh',
      '      -c',
      '      echo init > /work/ready',
      '    State:          Terminated',
      '      Reason:       Completed',
      '      Exit Code:    0',
      '      Started:      Tue, 24 Nov 2026 02:50:02 +0000',
      '      Finished:     Tue, 24 Nov 2026 02:50:03 +0000',
      '    Ready:          True',
      '    Restart Count:  0',
      '    Environment:    <none>',
      '    Mounts:',
      '      /work from work (rw)',
      'Containers:',
      '  web:',
    ]);
  });

  it('container: ports, command/args, running state, resources, probes, environment, mounts sorted', () => {
    for (const l of [
      '    Port:          8080/TCP',
      '    Host Port:     0/TCP',
      '    Args:',
      '      httpd -f -p 8080',
      '    State:          Running',
      '      Started:      Tue, 24 Nov 2026 02:50:05 +0000',
      '    Limits:',
      '      cpu:     500m',
      '      memory:  64Mi',
      '    Liveness:   http-get http://:8080/healthz delay=3s timeout=1s period=10s #success=1 #failure=3',
      '    Readiness:  exec [cat /work/ready] delay=0s timeout=1s period=5s #success=1 #failure=3',
      '      GREETING:  hello',
      '      POD_NAME:  web-node1 (v1:metadata.name)',
      '      NODE:       (v1:spec.nodeName)',
      '      MEM:       67108864 (limits.memory)',
    ])
      has(l);
    const m = lines.indexOf('      /var/log/web from logs (ro)');
    assert.ok(m > 0);
    assert.equal(lines[m + 1], '      /work from work (rw)');
  });

  it('a crash-looping container: waiting reason, last state, restart count', () => {
    const i = lines.indexOf('  sidecar:');
    assert.deepEqual(lines.slice(i + 10, i + 22), [
      '    State:          Waiting',
      '      Reason:       CrashLoopBackOff',
      '    Last State:     Terminated',
      '      Reason:       Error',
      '      Exit Code:    1',
      '      Started:      Tue, 24 Nov 2026 02:59:35 +0000',
      '      Finished:     Tue, 24 Nov 2026 02:59:36 +0000',
      '    Ready:          False',
      '    Restart Count:  3',
      '    Environment:    <none>',
      '    Mounts:         <none>',
      'Conditions:',
    ]);
  });

  it('conditions, volumes, QoS, tolerations and events as kubectl aligns them', () => {
    const i = lines.indexOf('Conditions:');
    assert.deepEqual(lines.slice(i), [
      'Conditions:',
      '  Type                        Status',
      '  PodReadyToStartContainers   True ',
      '  Initialized                 True ',
      '  Ready                       False ',
      '  ContainersReady             False ',
      '  PodScheduled                True ',
      'Volumes:',
      '  work:',
      "    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)",
      '    Medium:     ',
      '    SizeLimit:  <unset>',
      '  logs:',
      '    Type:          HostPath (bare host directory volume)',
      '    Path:          /var/log/web',
      '    HostPathType:  DirectoryOrCreate',
      'QoS Class:         Burstable',
      'Node-Selectors:    <none>',
      'Tolerations:       :NoExecute op=Exists',
      'Events:',
      '  Type     Reason   Age                From     Message',
      '  ----     ------   ----               ----     -------',
      '  Normal   Started  9m55s              kubelet  Started container web',
      '  Warning  BackOff  12s (x3 over 70s)  kubelet  Back-off restarting failed container sidecar in pod web-node1_default(6f1c0c3e5b2a)',
      '',
    ]);
  });

  it('<none> for what a bare pending pod lacks; no Events section when events are unknown', () => {
    const bare = { metadata: { name: 'bare', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] }, status: { phase: 'Pending' } } as unknown as V1Pod;
    const t = describePod(bare, [], NOW);
    for (const l of ['Node:         <none>', 'Labels:       <none>', 'Annotations:  <none>', 'IPs:          <none>', '    Mounts:       <none>', 'Volumes:          <none>', 'QoS Class:        BestEffort', 'Events:           <none>'])
      assert.ok(t.split('\n').includes(l), `missing ${JSON.stringify(l)} in:\n${t}`);
    assert.ok(!t.includes('State:'), 'no state without a container status');
    assert.ok(!describePod(bare, undefined, NOW).includes('Events:'));
  });

  it('a pod being deleted says Terminating (lasts ...) with its grace period', () => {
    const p = richPod(NOW);
    p.metadata!.deletionTimestamp = at(NOW, 5) as unknown as Date;
    p.metadata!.deletionGracePeriodSeconds = 30;
    const t = describePod(p, undefined, NOW).split('\n');
    assert.ok(t.includes('Status:                    Terminating (lasts 5s)'), t.join('\n'));
    assert.ok(t.includes('Termination Grace Period:  30s'));
  });
});

// ---- end to end: the commands against a fake local API ----

describe('nodelet get / describe against the local API', () => {
  let server: Server;
  let url: string;
  const now = Date.now();
  const ago = (s: number): string => at(now, s);
  const pods: V1Pod[] = [];
  const events: EventItem[] = [];
  const requests: string[] = [];

  before(async () => {
    const web = richPod(now);
    // Times the table shows that stay put while the test runs.
    web.status!.containerStatuses![1]!.lastState!.terminated!.finishedAt = ago(1800) as unknown as Date;
    const job = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'job', namespace: 'default', uid: 'u-job', creationTimestamp: ago(3 * 3600) },
      spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'busybox' }] },
      status: { phase: 'Succeeded', podIPs: [], containerStatuses: [{ name: 'c', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: ago(3000) } } }] },
    } as unknown as V1Pod;
    const etcd = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'etcd-node1', namespace: 'kube-system', uid: 'u-etcd', creationTimestamp: ago(51 * 3600), annotations: { 'kubernetes.io/config.source': 'file' } },
      spec: { nodeName: 'node1', hostNetwork: true, containers: [{ name: 'etcd', image: 'etcd' }] },
      status: { phase: 'Running', podIP: '192.168.1.10', podIPs: [{ ip: '192.168.1.10' }], conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'etcd', image: 'etcd', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: ago(51 * 3600) } } }] },
    } as unknown as V1Pod;
    pods.push(web, job, etcd);
    events.push(...richEvents(now), { involvedObject: { kind: 'Pod', name: 'web-node1', namespace: 'default', uid: 'an-earlier-pod' }, type: 'Normal', reason: 'Killing', message: 'from a pod of the same name before', count: 1, firstTimestamp: ago(4000), lastTimestamp: ago(4000) });
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const u = new URL(req.url ?? '/', 'http://x');
      res.setHeader('Content-Type', 'application/json');
      if (u.pathname === '/pods') return void res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods }));
      if (u.pathname === '/events') {
        const items = events.filter((e) => (!u.searchParams.get('name') || e.involvedObject?.name === u.searchParams.get('name')) && (!u.searchParams.get('namespace') || e.involvedObject?.namespace === u.searchParams.get('namespace')));
        return void res.end(JSON.stringify({ kind: 'EventList', apiVersion: 'v1', items }));
      }
      res.statusCode = 404;
      res.end('404 page not found\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = runInProcess;

  it('get pods: the default namespace as a kubectl table', async () => {
    const r = await run('get', 'pods', '--server', url);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, ['NAME        READY   STATUS             RESTARTS      AGE', 'job         0/1     Completed          0             3h', 'web-node1   1/2     CrashLoopBackOff   3 (30m ago)   10m', ''].join('\n'));
  });

  it('get pods -A -o wide: NAMESPACE first, IP NODE NOMINATED NODE READINESS GATES after', async () => {
    const r = await run('get', 'pods', '-A', '-o', 'wide', '--server', url);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s{2,}/)),
      [
        ['default', 'job', '0/1', 'Completed', '0', '3h', '<none>', 'node1', '<none>', '<none>'],
        ['default', 'web-node1', '1/2', 'CrashLoopBackOff', '3 (30m ago)', '10m', '10.88.0.7', 'node1', '<none>', '<none>'],
        ['kube-system', 'etcd-node1', '1/1', 'Running', '0', '2d3h', '192.168.1.10', 'node1', '<none>', '<none>'],
      ],
    );
  });

  it('get pod NAME: a static pod by its manifest name, without the -<node> suffix; -n picks the namespace', async () => {
    const r = await run('get', 'pod', 'etcd', '-n', 'kube-system', '--server', url);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\netcd-node1\s+1\/1\s+Running\s+0\s+2d3h\n$/);
    const slash = await run('get', 'pods/web-node1', '-o', 'name', '--server', url);
    assert.equal(slash.out, 'pod/web-node1\n');
  });

  it('get pod NAME -o json / yaml: the pod itself; get pods -o json: the list', async () => {
    const j = await run('get', 'pod', 'web', '-o', 'json', '--server', url);
    assert.equal(j.code, 0, j.err);
    const pod = JSON.parse(j.out) as V1Pod;
    assert.equal(pod.kind, 'Pod');
    assert.equal(pod.metadata?.name, 'web-node1');
    assert.ok(j.out.startsWith('{\n    "apiVersion": "v1",\n    "kind": "Pod",\n    "metadata": {'), j.out.slice(0, 80));
    const y = await run('get', 'pod', 'web-node1', '-o', 'yaml', '--server', url);
    assert.ok(y.out.startsWith('apiVersion: v1\nkind: Pod\nmetadata:\n'), y.out.slice(0, 80));
    assert.match(y.out, /\n {2}creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\n/);
    assert.equal((parseYaml(y.out) as V1Pod).status?.podIP, '10.88.0.7');
    const list = JSON.parse((await run('get', 'pods', '-A', '-o', 'json', '--server', url)).out) as { kind: string; items: V1Pod[] };
    assert.equal(list.kind, 'PodList');
    assert.deepEqual(
      list.items.map((p) => p.metadata?.name),
      ['job', 'web-node1', 'etcd-node1'],
    );
  });

  it('get pod of an unknown name: kubectl NotFound on stderr, exit status 1', async () => {
    const r = await run('get', 'pod', 'nope', '--server', url);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.equal(r.err, 'Error from server (NotFound): pods "nope" not found\n');
    const wrongNs = await run('get', 'pod', 'etcd', '--server', url);
    assert.equal(wrongNs.err, 'Error from server (NotFound): pods "etcd" not found\n');
  });

  it('get pods in an empty namespace says so; a bad -o or resource is an error', async () => {
    const r = await run('get', 'pods', '-n', 'empty', '--server', url);
    assert.equal(r.code, 0);
    assert.equal(r.err, 'No resources found in empty namespace.\n');
    const o = await run('get', 'pods', '-o', 'xml', '--server', url);
    assert.equal(o.code, 1);
    assert.match(o.err, /unable to match a printer suitable for the output format "xml"/);
    const res = await run('get', 'nodes', '--server', url);
    assert.equal(res.code, 1);
    assert.match(res.err, /doesn't have a resource type "nodes"/);
  });

  it('server unreachable: exit status 1, the message names the URL and suggests nodelet run', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    for (const cmd of [['get', 'pods'], ['describe', 'pod', 'web']]) {
      const r = await run(...cmd, '--server', `http://127.0.0.1:${port}`);
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`http://127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*nodelet run`));
    }
  });

  it('describe pod: the kubectl text with the pod events (not those of an earlier pod of the same name)', async () => {
    requests.length = 0;
    const r = await run('describe', 'pod', 'web', '--server', url);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'Name:         web-node1');
    assert.ok(lines.includes('Status:       Running'));
    assert.ok(lines.includes('    State:          Waiting'));
    assert.ok(lines.some((l) => /^ {2}Warning {2}BackOff {2}1[2-4]s \(x3 over 7[0-2]s\) {2}kubelet {2}Back-off restarting failed container sidecar/.test(l)), r.out);
    assert.ok(!r.out.includes('Killing'), 'an event of another UID is left out');
    assert.ok(requests.includes('/events?namespace=default&name=web-node1'), requests.join(' '));
  });

  it('describe pod by name prefix, several pods separated by blank lines; unknown name is NotFound', async () => {
    const r = await run('describe', 'pods', '--server', url);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.startsWith('Name:         job\n'), r.out.slice(0, 40));
    assert.match(r.out, /\n\n\nName:\s+web-node1\n/);
    const prefix = await run('describe', 'pod', 'jo', '--server', url);
    assert.ok(prefix.out.startsWith('Name:         job\n'));
    const none = await run('describe', 'pod', 'zzz', '--server', url);
    assert.equal(none.code, 1);
    assert.equal(none.err, 'Error from server (NotFound): pods "zzz" not found\n');
  });
});
