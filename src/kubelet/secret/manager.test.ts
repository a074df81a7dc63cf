// The Secret and ConfigMap managers' pod references (VisitPodSecretNames /
// VisitPodConfigmapNames), the managers' registration and 404 result, and getPullSecretsForPod.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { ObjectNotFoundError } from '../../util/objectcache.js';
import { ConfigMapManager, podConfigMapNames } from '../configmap/index.js';
import { podSecretNames, pullSecretsGetter, SecretManager } from './index.js';

const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: {
    imagePullSecrets: [{ name: 'regcred' }, { name: '' }],
    initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'init-env' } }, { configMapRef: { name: 'init-cm' } }] }],
    containers: [
      {
        name: 'c',
        env: [
          { name: 'A', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } },
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'app', key: 'k' } } },
          { name: 'C', value: 'plain' },
        ],
      },
    ],
    volumes: [
      { name: 'v1', secret: { secretName: 'tls' } },
      { name: 'v2', configMap: { name: 'files' } },
      { name: 'v3', projected: { sources: [{ secret: { name: 'proj-secret' } }, { configMap: { name: 'kube-root-ca.crt' } }, { serviceAccountToken: { path: 'token' } }] } },
      { name: 'v4', csi: { driver: 'x', nodePublishSecretRef: { name: 'csi-creds' } } },
      { name: 'v5', emptyDir: {} },
    ],
  },
};

describe('pod references', () => {
  it('VisitPodSecretNames: pull secrets, env of every container, secret/projected/plugin volumes', () => {
    assert.deepEqual([...podSecretNames(pod)].sort(), ['csi-creds', 'db', 'init-env', 'proj-secret', 'regcred', 'tls']);
  });
  it('VisitPodConfigmapNames: env of every container, configMap volumes and projected sources', () => {
    assert.deepEqual([...podConfigMapNames(pod)].sort(), ['app', 'files', 'init-cm', 'kube-root-ca.crt']);
  });
});

describe('SecretManager / ConfigMapManager', () => {
  it('serve what a registered pod references, through the fetcher; 404 is ObjectNotFoundError', async () => {
    const clock = new FakeClock();
    const asked: string[] = [];
    const secrets = new SecretManager({
      clock,
      fetch: async (ns, name) => {
        asked.push(`${ns}/${name}`);
        if (name === 'db') return { metadata: { name, namespace: ns } };
        throw new ObjectNotFoundError('secret', ns, name);
      },
    });
    await assert.rejects(secrets.getSecret('ns', 'db'), /not registered/);
    secrets.registerPod(pod);
    assert.equal(secrets.size, 6);
    assert.equal((await secrets.getSecret('ns', 'db')).metadata?.name, 'db');
    await assert.rejects(secrets.getSecret('ns', 'tls'), { message: 'secret "tls" not found' });
    assert.deepEqual(asked, ['ns/db', 'ns/tls']);
    secrets.unregisterPod(pod);
    assert.equal(secrets.size, 0);
    const cms = new ConfigMapManager({ clock, fetch: async (ns, name) => ({ metadata: { name, namespace: ns } }) });
    cms.registerPod(pod);
    assert.equal((await cms.getConfigMap('ns', 'kube-root-ca.crt')).metadata?.name, 'kube-root-ca.crt');
  });
});

describe('pullSecretsGetter (getPullSecretsForPod)', () => {
  it('returns the named secrets that could be read, skipping empty names; reports the others', async () => {
    const failed: string[] = [];
    const get = pullSecretsGetter(
      {
        getSecret: async (_ns, name): Promise<V1Secret> => {
          if (name === 'regcred') return { metadata: { name } };
          throw new ObjectNotFoundError('secret', 'ns', name);
        },
      },
      (name) => failed.push(name),
    );
    const p: V1Pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [], imagePullSecrets: [{ name: 'regcred' }, { name: '' }, { name: 'gone' }] } };
    assert.deepEqual((await get(p)).map((s) => s.metadata?.name), ['regcred']);
    assert.deepEqual(failed, ['gone']);
  });
});
