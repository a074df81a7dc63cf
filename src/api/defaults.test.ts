import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { setPodDefaults } from './defaults.js';

function pod(containers: V1Container[], extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers, ...extra } };
}

describe('setPodDefaults', () => {
  it('defaults the pod and spec fields', () => {
    const out = setPodDefaults(pod([{ name: 'c', image: 'busybox:1.36' }]));
    assert.equal(out.metadata!.namespace, 'default');
    const s = out.spec!;
    assert.equal(s.restartPolicy, 'Always');
    assert.equal(s.terminationGracePeriodSeconds, 30);
    assert.equal(s.dnsPolicy, 'ClusterFirst');
    assert.equal(s.schedulerName, 'default-scheduler');
    assert.deepEqual(s.securityContext, {});
    assert.equal(s.enableServiceLinks, true);
  });

  it('keeps values that are set (including zero and false)', () => {
    const out = setPodDefaults({
      metadata: { name: 'p', namespace: 'kube-system' },
      spec: {
        containers: [{ name: 'c', image: 'x', imagePullPolicy: 'Never', terminationMessagePolicy: 'FallbackToLogsOnError' }],
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        dnsPolicy: 'Default',
        enableServiceLinks: false,
        securityContext: { runAsUser: 1000 },
      },
    });
    assert.equal(out.metadata!.namespace, 'kube-system');
    assert.equal(out.spec!.restartPolicy, 'Never');
    assert.equal(out.spec!.terminationGracePeriodSeconds, 0);
    assert.equal(out.spec!.dnsPolicy, 'Default');
    assert.equal(out.spec!.enableServiceLinks, false);
    assert.deepEqual(out.spec!.securityContext, { runAsUser: 1000 });
    assert.equal(out.spec!.containers[0]!.imagePullPolicy, 'Never');
    assert.equal(out.spec!.containers[0]!.terminationMessagePolicy, 'FallbackToLogsOnError');
  });

  const pullCases: [string, string][] = [
    ['busybox', 'Always'],
    ['busybox:latest', 'Always'],
    ['127.0.0.1:5000/busybox', 'Always'],
    ['busybox:1.36', 'IfNotPresent'],
    ['localhost/pause:3.9', 'IfNotPresent'],
    [`busybox@sha256:${'a'.repeat(64)}`, 'IfNotPresent'],
    [`busybox:latest@sha256:${'a'.repeat(64)}`, 'IfNotPresent'],
    ['NOT A REF', 'IfNotPresent'],
  ];
  for (const [image, want] of pullCases) {
    it(`imagePullPolicy for ${image} is ${want}`, () => {
      const out = setPodDefaults(pod([{ name: 'c', image }], { initContainers: [{ name: 'i', image }] }));
      assert.equal(out.spec!.containers[0]!.imagePullPolicy, want);
      assert.equal(out.spec!.initContainers![0]!.imagePullPolicy, want);
    });
  }

  it('defaults container fields, ports, env fieldRef, probes and handlers', () => {
    const out = setPodDefaults(
      pod([
        {
          name: 'c',
          image: 'busybox',
          ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }],
          env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          livenessProbe: { httpGet: { port: 8080 } },
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 5 },
          startupProbe: { tcpSocket: { port: 80 } },
          lifecycle: { preStop: { httpGet: { port: 80, path: '/stop' } } },
        },
      ]),
    );
    const c = out.spec!.containers[0]!;
    assert.equal(c.terminationMessagePath, '/dev/termination-log');
    assert.equal(c.terminationMessagePolicy, 'File');
    assert.deepEqual(c.ports!.map((p) => p.protocol), ['TCP', 'UDP']);
    assert.equal(c.env![0]!.valueFrom!.fieldRef!.apiVersion, 'v1');
    assert.deepEqual(
      { ...c.livenessProbe },
      { httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    );
    assert.equal(c.readinessProbe!.periodSeconds, 5);
    assert.equal(c.readinessProbe!.failureThreshold, 3);
    assert.equal(c.startupProbe!.timeoutSeconds, 1);
    assert.deepEqual(c.lifecycle!.preStop!.httpGet, { port: 80, path: '/stop', scheme: 'HTTP' });
  });

  it('defaults requests to limits per resource, keeping explicit requests', () => {
    const out = setPodDefaults(
      pod([
        { name: 'a', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } },
        { name: 'b', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '100m' } } },
        { name: 'c', image: 'x', resources: { requests: { cpu: '100m' } } },
        { name: 'd', image: 'x' },
      ]),
    );
    const [a, b, c, d] = out.spec!.containers;
    assert.deepEqual(a!.resources!.requests, { cpu: '1', memory: '1Gi' });
    assert.deepEqual(b!.resources!.requests, { cpu: '100m', memory: '1Gi' });
    assert.deepEqual(c!.resources, { requests: { cpu: '100m' } });
    assert.equal(d!.resources, undefined);
  });

  it('rounds sub-milli quantities up to milli', () => {
    const out = setPodDefaults(pod([{ name: 'a', image: 'x', resources: { limits: { cpu: '0.0001' } } }]));
    assert.deepEqual(out.spec!.containers[0]!.resources, { limits: { cpu: '1m' }, requests: { cpu: '1m' } });
  });

  it('defaults hostPort to containerPort with hostNetwork', () => {
    const out = setPodDefaults(pod([{ name: 'a', image: 'x', ports: [{ containerPort: 80 }, { containerPort: 81, hostPort: 81 }] }], { hostNetwork: true }));
    assert.deepEqual(out.spec!.containers[0]!.ports!.map((p) => p.hostPort), [80, 81]);
    const noHostNet = setPodDefaults(pod([{ name: 'a', image: 'x', ports: [{ containerPort: 80 }] }]));
    assert.equal(noHostNet.spec!.containers[0]!.ports![0]!.hostPort, undefined);
  });

  it('defaults volumes: emptyDir when no source, modes of secret/configMap/projected', () => {
    const out = setPodDefaults(
      pod([{ name: 'a', image: 'x' }], {
        volumes: [
          { name: 'v1' },
          { name: 'v2', secret: { secretName: 's' } },
          { name: 'v3', configMap: { name: 'cm', defaultMode: 0o400 } },
          { name: 'v4', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
          { name: 'v5', hostPath: { path: '/tmp' } },
        ],
      }),
    );
    const v = out.spec!.volumes!;
    assert.deepEqual(v[0]!.emptyDir, {});
    assert.equal(v[1]!.secret!.defaultMode, 0o644);
    assert.equal(v[1]!.emptyDir, undefined);
    assert.equal(v[2]!.configMap!.defaultMode, 0o400);
    assert.equal(v[3]!.projected!.defaultMode, 0o644);
    assert.equal(v[3]!.projected!.sources![0]!.serviceAccountToken!.expirationSeconds, 3600);
    assert.equal(v[4]!.hostPath!.type, '');
  });

  it('returns a copy and never mutates the input', () => {
    const input = pod([{ name: 'c', image: 'busybox', resources: { limits: { cpu: '1' } } }]);
    const before = JSON.stringify(input);
    const out = setPodDefaults(input);
    assert.equal(JSON.stringify(input), before);
    assert.notEqual(out.spec, input.spec);
  });

  it('is idempotent', () => {
    const once = setPodDefaults(pod([{ name: 'c', image: 'busybox', livenessProbe: { exec: { command: ['true'] } } }]));
    assert.deepEqual(setPodDefaults(once), once);
  });
});
