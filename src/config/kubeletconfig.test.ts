import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, ValidationError } from '../util/errors.js';
import { completeKubeletConfiguration, defaultRuntimeEndpoint, loadKubeletConfiguration } from './kubeletconfig.js';

describe('KubeletConfiguration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodelet-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('applies upstream defaults', () => {
    const c = completeKubeletConfiguration({});
    assert.equal(c.containerRuntimeEndpoint, defaultRuntimeEndpoint);
    assert.equal(c.runtimeRequestTimeout, '2m0s');
  });

  it('has the kubelet API defaults: webhook authn (2m cache) and authz (5m/30s), anonymous off, read-only port 0', () => {
    const c = completeKubeletConfiguration({});
    assert.deepEqual(c.authentication, { x509: { clientCAFile: '' }, webhook: { enabled: true, cacheTTL: '2m0s' }, anonymous: { enabled: false } });
    assert.deepEqual(c.authorization, { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '5m0s', cacheUnauthorizedTTL: '30s' } });
    assert.equal(c.readOnlyPort, 0);
    assert.equal(c.port, 10250);
    assert.equal(c.rotateCertificates, false);
  });

  it('merges a partial authentication block over the defaults', () => {
    const c = completeKubeletConfiguration({ authentication: { x509: { clientCAFile: '/etc/ca.crt' }, anonymous: { enabled: true } } });
    assert.deepEqual(c.authentication, { x509: { clientCAFile: '/etc/ca.crt' }, webhook: { enabled: true, cacheTTL: '2m0s' }, anonymous: { enabled: true } });
  });

  it('reads a YAML file', () => {
    const c = loadKubeletConfiguration(
      file('ok.yaml', 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncontainerRuntimeEndpoint: unix:///tmp/x.sock\nruntimeRequestTimeout: 30s\n'),
    );
    assert.equal(c.containerRuntimeEndpoint, 'unix:///tmp/x.sock');
    assert.equal(c.runtimeRequestTimeout, '30s');
  });

  const bad: [string, string, RegExp, typeof ValidationError | typeof ConfigError][] = [
    ['wrong apiVersion', 'apiVersion: v1\nkind: KubeletConfiguration\n', /bad-1\.yaml: apiVersion: must be kubelet.config.k8s.io\/v1beta1/, ValidationError],
    ['wrong kind', 'kind: Pod\n', /kind: must be KubeletConfiguration/, ValidationError],
    ['bad duration', 'runtimeRequestTimeout: soon\n', /runtimeRequestTimeout: invalid duration "soon"/, ValidationError],
    ['empty endpoint', 'containerRuntimeEndpoint: ""\n', /containerRuntimeEndpoint: must be a non-empty endpoint/, ValidationError],
    ['not YAML', 'a: [1, 2\n', /is not valid YAML/, ConfigError],
    ['a list', '- a\n- b\n', /must hold one KubeletConfiguration object/, ConfigError],
    ['an unknown authorization mode', 'authorization: { mode: RBAC }\n', /authorization\.mode: must be one of Webhook, AlwaysAllow, got "RBAC"/, ValidationError],
    ['a bad nested duration', 'authentication: { webhook: { cacheTTL: later } }\n', /authentication\.webhook\.cacheTTL: invalid duration/, ValidationError],
    ['an unknown nested field', 'authentication: { oidc: {} }\n', /authentication\.oidc: unknown field/, ValidationError],
  ];
  bad.forEach(([name, text, re, cls], i) => {
    it(`rejects ${name} naming the file and field`, () => {
      assert.throws(() => loadKubeletConfiguration(file(`bad-${i + 1}.yaml`, text)), (e: unknown) => e instanceof cls && re.test((e as Error).message));
    });
  });

  it('names a missing file', () => {
    assert.throws(() => loadKubeletConfiguration(join(dir, 'absent.yaml')), /cannot read kubelet config file .*absent\.yaml/);
  });
});
