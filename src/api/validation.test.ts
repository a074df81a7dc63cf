import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ValidationError } from '../util/errors.js';
import { setPodDefaults } from './defaults.js';
import { validatePod, validatePodOrThrow } from './validation.js';

function validPod(): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      volumes: [{ name: 'data', emptyDir: {} }],
      initContainers: [{ name: 'init', image: 'busybox:1.36', command: ['true'] }],
      containers: [
        {
          name: 'app',
          image: '127.0.0.1:5000/busybox:1.0',
          ports: [{ name: 'http', containerPort: 8080, hostPort: 8080 }],
          env: [{ name: 'A', value: '1' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '64Mi' } },
          livenessProbe: { httpGet: { port: 'http' } },
          readinessProbe: { exec: { command: ['true'] }, successThreshold: 2 },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
        { name: 'sidecar', image: 'busybox' },
      ],
    },
  };
}

type Mutate = (p: V1Pod) => void;
const spec = (p: V1Pod) => p.spec!;
const c0 = (p: V1Pod) => p.spec!.containers[0]!;

describe('validatePod', () => {
  it('accepts a valid pod, before and after defaulting', () => {
    assert.deepEqual(validatePod(validPod()), []);
    assert.deepEqual(validatePod(setPodDefaults(validPod())), []);
  });

  const cases: [string, Mutate, string][] = [
    ['missing name', (p) => delete p.metadata!.name, 'metadata.name'],
    ['upper-case name', (p) => (p.metadata!.name = 'Web'), 'metadata.name'],
    ['name too long', (p) => (p.metadata!.name = 'a'.repeat(254)), 'metadata.name'],
    ['name with underscore', (p) => (p.metadata!.name = 'my_pod'), 'metadata.name'],
    ['namespace with a dot', (p) => (p.metadata!.namespace = 'kube.system'), 'metadata.namespace'],
    ['no containers', (p) => (spec(p).containers = []), 'spec.containers'],
    ['container name not a label', (p) => (spec(p).containers[1]!.name = 'Side_car'), 'spec.containers[1].name'],
    ['container name too long', (p) => (spec(p).containers[1]!.name = 'a'.repeat(64)), 'spec.containers[1].name'],
    ['duplicate container name', (p) => (spec(p).containers[1]!.name = 'app'), 'spec.containers[1].name'],
    ['container named like an init container', (p) => (spec(p).containers[0]!.name = 'init'), 'spec.containers[0].name'],
    ['init container name invalid', (p) => (spec(p).initContainers![0]!.name = '-init'), 'spec.initContainers[0].name'],
    ['missing image', (p) => delete c0(p).image, 'spec.containers[0].image'],
    ['image with spaces', (p) => (spec(p).containers[1]!.image = ' busybox'), 'spec.containers[1].image'],
    ['image not a reference', (p) => (spec(p).containers[1]!.image = 'BusyBox:1'), 'spec.containers[1].image'],
    ['bad restartPolicy', (p) => (spec(p).restartPolicy = 'Sometimes'), 'spec.restartPolicy'],
    ['bad dnsPolicy', (p) => (spec(p).dnsPolicy = 'Google'), 'spec.dnsPolicy'],
    ['bad imagePullPolicy', (p) => (c0(p).imagePullPolicy = 'Maybe'), 'spec.containers[0].imagePullPolicy'],
    ['containerPort 0', (p) => (c0(p).ports![0]!.containerPort = 0), 'spec.containers[0].ports[0].containerPort'],
    ['containerPort too big', (p) => (c0(p).ports![0]!.containerPort = 70000), 'spec.containers[0].ports[0].containerPort'],
    ['hostPort too big', (p) => (c0(p).ports![0]!.hostPort = 65536), 'spec.containers[0].ports[0].hostPort'],
    ['bad protocol', (p) => (c0(p).ports![0]!.protocol = 'HTTP'), 'spec.containers[0].ports[0].protocol'],
    ['bad port name', (p) => (c0(p).ports![0]!.name = 'http--x'), 'spec.containers[0].ports[0].name'],
    ['duplicate port name', (p) => c0(p).ports!.push({ name: 'http', containerPort: 9090 }), 'spec.containers[0].ports[1].name'],
    ['hostPort clash across containers', (p) => (spec(p).containers[1]!.ports = [{ containerPort: 80, hostPort: 8080 }]), 'spec.containers[1].ports[0].hostPort'],
    ['hostNetwork with hostPort != containerPort', (p) => { spec(p).hostNetwork = true; c0(p).ports![0]!.hostPort = 9000; }, 'spec.containers[0].ports[0].hostPort'],
    ['env name starting with a digit', (p) => (c0(p).env![0]!.name = '1A'), 'spec.containers[0].env[0].name'],
    ['env name with =', (p) => (c0(p).env![0]!.name = 'A=B'), 'spec.containers[0].env[0].name'],
    ['env name empty', (p) => (c0(p).env![0]!.name = ''), 'spec.containers[0].env[0].name'],
    ['env value and valueFrom', (p) => (c0(p).env![1]!.value = 'x'), 'spec.containers[0].env[1].valueFrom'],
    ['env valueFrom with two sources', (p) => (c0(p).env![1]!.valueFrom!.secretKeyRef = { name: 's', key: 'k' }), 'spec.containers[0].env[1].valueFrom'],
    ['env fieldRef unsupported path', (p) => (c0(p).env![1]!.valueFrom!.fieldRef!.fieldPath = 'spec.containers'), 'spec.containers[0].env[1].valueFrom.fieldRef.fieldPath'],
    ['negative terminationGracePeriodSeconds', (p) => (spec(p).terminationGracePeriodSeconds = -1), 'spec.terminationGracePeriodSeconds'],
    ['unparseable quantity', (p) => (c0(p).resources!.limits!['memory'] = '64MB'), 'spec.containers[0].resources.limits[memory]'],
    ['negative quantity', (p) => (c0(p).resources!.requests!['cpu'] = '-1'), 'spec.containers[0].resources.requests[cpu]'],
    ['request above limit', (p) => (c0(p).resources!.requests!['cpu'] = '1001m'), 'spec.containers[0].resources.requests[cpu]'],
    ['unknown native resource', (p) => (c0(p).resources!.limits!['gpu'] = '1'), 'spec.containers[0].resources.limits[gpu]'],
    ['extended resource request != limit', (p) => (c0(p).resources = { requests: { 'example.com/dev': '1' }, limits: { 'example.com/dev': '2' } }), 'spec.containers[0].resources.requests[example.com/dev]'],
    ['probe without handler', (p) => (c0(p).livenessProbe = { periodSeconds: 3 }), 'spec.containers[0].livenessProbe'],
    ['probe with two handlers', (p) => (c0(p).readinessProbe!.tcpSocket = { port: 80 }), 'spec.containers[0].readinessProbe.tcpSocket'],
    ['liveness successThreshold 2', (p) => (c0(p).livenessProbe!.successThreshold = 2), 'spec.containers[0].livenessProbe.successThreshold'],
    ['probe negative period', (p) => (c0(p).readinessProbe!.periodSeconds = -5), 'spec.containers[0].readinessProbe.periodSeconds'],
    ['httpGet port out of range', (p) => (c0(p).livenessProbe!.httpGet!.port = 0), 'spec.containers[0].livenessProbe.httpGet.port'],
    ['exec probe without command', (p) => (c0(p).readinessProbe!.exec = {}), 'spec.containers[0].readinessProbe.exec.command'],
    ['lifecycle handler with no action', (p) => (c0(p).lifecycle = { preStop: {} }), 'spec.containers[0].lifecycle.preStop'],
    ['probe on an init container', (p) => (spec(p).initContainers![0]!.readinessProbe = { exec: { command: ['true'] } }), 'spec.initContainers[0].readinessProbe'],
    ['restartPolicy on a regular container', (p) => (c0(p).restartPolicy = 'Always'), 'spec.containers[0].restartPolicy'],
    ['init container restartPolicy Never', (p) => (spec(p).initContainers![0]!.restartPolicy = 'Never'), 'spec.initContainers[0].restartPolicy'],
    ['mount of an undeclared volume', (p) => (c0(p).volumeMounts![0]!.name = 'nope'), 'spec.containers[0].volumeMounts[0].name'],
    ['mount without path', (p) => (c0(p).volumeMounts![0]!.mountPath = ''), 'spec.containers[0].volumeMounts[0].mountPath'],
    ['two mounts on one path', (p) => c0(p).volumeMounts!.push({ name: 'data', mountPath: '/data' }), 'spec.containers[0].volumeMounts[1].mountPath'],
    ['duplicate volume', (p) => spec(p).volumes!.push({ name: 'data', emptyDir: {} }), 'spec.volumes[1].name'],
    ['volume with two sources', (p) => (spec(p).volumes![0]!.hostPath = { path: '/tmp' }), 'spec.volumes[0].hostPath'],
    ['volume name invalid', (p) => { spec(p).volumes![0]!.name = 'Data'; c0(p).volumeMounts = []; }, 'spec.volumes[0].name'],
  ];
  for (const [name, mutate, field] of cases) {
    it(`${name}: names ${field}`, () => {
      const p = validPod();
      mutate(p);
      const errs = validatePod(p);
      assert.ok(errs.length > 0, 'expected an error');
      assert.deepEqual(errs.map((e) => e.field), [field], JSON.stringify(errs));
      assert.ok(errs[0]!.detail.length > 0);
    });
  }

  const ok: [string, Mutate][] = [
    ['sidecar init container with probes', (p) => Object.assign(spec(p).initContainers![0]!, { restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } } })],
    ['same hostPort on different protocols', (p) => (spec(p).containers[1]!.ports = [{ containerPort: 8080, hostPort: 8080, protocol: 'UDP' }])],
    ['same hostPort on different hostIPs', (p) => { c0(p).ports![0]!.hostIP = '127.0.0.1'; spec(p).containers[1]!.ports = [{ containerPort: 8080, hostPort: 8080, hostIP: '10.0.0.1' }]; }],
    ['env names with dots and dashes', (p) => (c0(p).env![0]!.name = '-my.var_1')],
    ['request equal to limit', (p) => (c0(p).resources!.requests!['cpu'] = '1000m')],
    ['requests without limits', (p) => (c0(p).resources = { requests: { cpu: '5' } })],
    ['labels fieldRef', (p) => (c0(p).env![1]!.valueFrom!.fieldRef!.fieldPath = "metadata.labels['app']")],
    ['a 253-char dotted name', (p) => (p.metadata!.name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`)],
    ['zero grace period', (p) => (spec(p).terminationGracePeriodSeconds = 0)],
  ];
  for (const [name, mutate] of ok) {
    it(`accepts ${name}`, () => {
      const p = validPod();
      mutate(p);
      assert.deepEqual(validatePod(p), []);
    });
  }

  it('collects every error, not just the first', () => {
    const p = validPod();
    p.metadata!.name = 'BAD';
    c0(p).image = '';
    spec(p).restartPolicy = 'x';
    assert.deepEqual(validatePod(p).map((e) => e.field).sort(), ['metadata.name', 'spec.containers[0].image', 'spec.restartPolicy']);
  });
});

describe('validatePodOrThrow', () => {
  it('returns the pod when valid', () => {
    const p = validPod();
    assert.equal(validatePodOrThrow(p, 'x'), p);
  });
  it('throws a ValidationError naming the object and the first field, listing the rest', () => {
    const p = validPod();
    c0(p).image = '';
    spec(p).restartPolicy = 'x';
    assert.throws(
      () => validatePodOrThrow(p, '/etc/kubernetes/manifests/web.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.object, '/etc/kubernetes/manifests/web.yaml');
        assert.equal(err.field, 'spec.containers[0].image');
        assert.match(err.message, /^\/etc\/kubernetes\/manifests\/web\.yaml: spec\.containers\[0\]\.image: Required value/);
        assert.match(err.message, /1 more: spec\.restartPolicy/);
        return true;
      },
    );
  });
});
