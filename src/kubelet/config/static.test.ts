import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ValidationError } from '../../util/errors.js';
import { applyStaticPodDefaults, decodeStaticPods, staticPodName, type StaticPodSource } from './static.js';

function manifest(extra: Partial<V1Pod> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
    ...extra,
  };
}

const fileSrc: StaticPodSource = { source: '/etc/kubernetes/manifests/web.yaml', kind: 'file', nodeName: 'Node-1' };

function ok(raw: V1Pod, src: StaticPodSource = fileSrc): V1Pod {
  const r = applyStaticPodDefaults(raw, src);
  if (r.error) assert.fail(r.error.message);
  return r.pod;
}

describe('applyStaticPodDefaults', () => {
  it('names the pod <name>-<node lower-cased>, sets namespace, node, annotations, toleration, phase', () => {
    const p = ok(manifest());
    assert.equal(p.metadata!.name, 'web-node-1');
    assert.equal(p.metadata!.namespace, 'default');
    assert.equal(p.spec!.nodeName, 'Node-1');
    assert.match(p.metadata!.uid!, /^[0-9a-f]{32}$/);
    assert.equal(p.metadata!.annotations!['kubernetes.io/config.hash'], p.metadata!.uid);
    assert.equal(p.metadata!.annotations!['kubernetes.io/config.source'], 'file');
    assert.deepEqual(p.spec!.tolerations, [{ operator: 'Exists', effect: 'NoExecute' }]);
    assert.equal(p.status!.phase, 'Pending');
    // and the API defaults
    assert.equal(p.spec!.restartPolicy, 'Always');
    assert.equal(p.spec!.containers[0]!.imagePullPolicy, 'IfNotPresent');
  });

  it('keeps an explicit namespace and an explicit UID', () => {
    const p = ok(manifest({ metadata: { name: 'web', namespace: 'kube-system', uid: 'my-uid' } }));
    assert.equal(p.metadata!.namespace, 'kube-system');
    assert.equal(p.metadata!.uid, 'my-uid');
    assert.equal(p.metadata!.annotations!['kubernetes.io/config.hash'], 'my-uid');
  });

  it('does not duplicate an existing equal toleration, keeps other tolerations', () => {
    const raw = manifest();
    raw.spec!.tolerations = [{ key: 'k', operator: 'Exists' }, { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }];
    const p = ok(raw);
    assert.deepEqual(p.spec!.tolerations, [{ key: 'k', operator: 'Exists' }, { operator: 'Exists', effect: 'NoExecute' }]);
  });

  it('http pods get no toleration and source http', () => {
    const p = ok(manifest(), { source: 'http://cfg/pods', kind: 'http', nodeName: 'n' });
    assert.equal(p.spec!.tolerations, undefined);
    assert.equal(p.metadata!.annotations!['kubernetes.io/config.source'], 'http');
  });

  it('does not mutate its input', () => {
    const raw = manifest();
    const before = JSON.stringify(raw);
    ok(raw);
    assert.equal(JSON.stringify(raw), before);
  });

  describe('UID', () => {
    const uid = (raw: V1Pod, src: StaticPodSource = fileSrc) => ok(raw, src).metadata!.uid;
    it('same content and source -> same UID', () => assert.equal(uid(manifest()), uid(manifest())));
    it('key order and explicitly written defaults do not matter', () => {
      const explicit: V1Pod = {
        kind: 'Pod',
        spec: { restartPolicy: 'Always', containers: [{ command: ['sleep', '3600'], image: 'busybox:1.36', name: 'c', imagePullPolicy: 'IfNotPresent' }] },
        metadata: { labels: { app: 'web' }, name: 'web' },
        apiVersion: 'v1',
      };
      assert.equal(uid(explicit), uid(manifest()));
    });
    it('different node -> different UID', () => assert.notEqual(uid(manifest()), uid(manifest(), { ...fileSrc, nodeName: 'node-2' })));
    it('different file -> different UID', () => assert.notEqual(uid(manifest()), uid(manifest(), { ...fileSrc, source: '/etc/kubernetes/manifests/other.yaml' })));
    it('different content -> different UID', () => {
      const m = manifest();
      m.spec!.containers[0]!.image = 'busybox:1.37';
      assert.notEqual(uid(m), uid(manifest()));
    });
    it('http: depends on the URL, not on the node', () => {
      const a = uid(manifest(), { source: 'http://a/', kind: 'http', nodeName: 'n1' });
      assert.equal(a, uid(manifest(), { source: 'http://a/', kind: 'http', nodeName: 'n2' }));
      assert.notEqual(a, uid(manifest(), { source: 'http://b/', kind: 'http', nodeName: 'n1' }));
      assert.notEqual(a, uid(manifest(), { source: 'http://a/', kind: 'file', nodeName: 'n1' }));
    });
  });

  const invalid: [string, (p: V1Pod) => void, string][] = [
    ['no name', (p) => delete p.metadata!.name, 'metadata.name'],
    ['bad image', (p) => (p.spec!.containers[0]!.image = 'Bad Image'), 'spec.containers[0].image'],
    ['no containers', (p) => (p.spec!.containers = []), 'spec.containers'],
    ['name that becomes invalid', (p) => (p.metadata!.name = 'Web'), 'metadata.name'],
  ];
  for (const [name, mutate, field] of invalid) {
    it(`returns a ValidationError naming the file and ${field} for ${name}`, () => {
      const raw = manifest();
      mutate(raw);
      const r = applyStaticPodDefaults(raw, fileSrc);
      assert.ok(r.error instanceof ValidationError);
      assert.equal(r.error.object, fileSrc.source);
      assert.equal(r.error.field, field);
      assert.equal(r.pod, undefined);
    });
  }

  it('staticPodName lower-cases the node name only', () => assert.equal(staticPodName('Web', 'NODE'), 'Web-node'));
});

describe('decodeStaticPods', () => {
  it('keeps the valid pods of a multi-document file, naming the bad document', () => {
    const text = [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: busybox}]}',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c, image: "NOT VALID"}]}',
    ].join('\n---\n');
    const { pods, errors } = decodeStaticPods(text, { source: '/m/x.yaml', kind: 'file', nodeName: 'n' });
    assert.deepEqual(pods.map((p) => p.metadata!.name), ['a-n']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.object, '/m/x.yaml (document 2)');
    assert.equal(errors[0]!.field, 'spec.containers[0].image');
  });
});
