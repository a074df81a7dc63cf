// Tests for the registry credentials: docker config parsing, the keyring's matching rules as
// pkg/credentialprovider applies them, pull secrets, and the node's docker config files.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import {
  decodeDockerConfigFieldAuth,
  defaultNodeDockerConfigPaths,
  DockerKeyring,
  failedPullSecretsMessage,
  globMatch,
  isDefaultRegistryMatch,
  keyringFromSecrets,
  keyringKey,
  lookupCredentials,
  missingPullSecrets,
  NodeKeyring,
  parseDockercfg,
  parseDockerConfigJSON,
  urlsMatch,
  type DockerConfig,
} from './credentials.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const entry = (user: string): { username: string; password: string } => ({ username: user, password: `${user}-pw` });

describe('docker config parsing', () => {
  it('decodes the auth field padded or unpadded, keeping colons in the password', () => {
    assert.deepEqual(decodeDockerConfigFieldAuth(b64('alice:s3cret')), { username: 'alice', password: 's3cret' });
    assert.deepEqual(decodeDockerConfigFieldAuth(b64('bob:a:b:c').replace(/=+$/, '')), { username: 'bob', password: 'a:b:c' });
    assert.deepEqual(decodeDockerConfigFieldAuth(b64('carol:')), { username: 'carol', password: '' });
  });

  it('rejects an auth field that is not base64(username:password)', () => {
    assert.throws(() => decodeDockerConfigFieldAuth(b64('no-colon-here')), /unable to parse auth field, must be formatted as base64\(username:password\)/);
    assert.throws(() => decodeDockerConfigFieldAuth('not base64!'), /illegal base64 data at input byte 3/);
  });

  it('.dockerconfigjson: auths by location; auth overrides username/password; member names are case-insensitive', () => {
    const cfg = parseDockerConfigJSON(
      JSON.stringify({
        Auths: {
          'registry.example.com': { username: 'ignored', password: 'ignored', auth: b64('alice:pw1'), email: 'a@example.com' },
          'https://index.docker.io/v1/': { Username: 'bob', Password: 'pw2' },
        },
        credsStore: 'desktop',
      }),
    );
    assert.deepEqual(cfg, {
      'registry.example.com': { username: 'alice', password: 'pw1', email: 'a@example.com' },
      'https://index.docker.io/v1/': { username: 'bob', password: 'pw2' },
    });
    assert.deepEqual(parseDockerConfigJSON('{}'), {});
  });

  it('.dockercfg is the map of locations itself', () => {
    assert.deepEqual(parseDockercfg(JSON.stringify({ 'quay.io': { auth: b64('u:p') } })), { 'quay.io': { username: 'u', password: 'p' } });
  });

  it('malformed documents throw', () => {
    assert.throws(() => parseDockerConfigJSON('{"auths": '), SyntaxError);
    assert.throws(() => parseDockerConfigJSON('[]'), /non-object/);
    assert.throws(() => parseDockerConfigJSON('{"auths": {"x": {"username": 5}}}'), /cannot unmarshal number/);
  });
});

describe('keyring matching', () => {
  it('keys drop the scheme and a leading /v1/ or /v2/', () => {
    const cases: [string, string | undefined][] = [
      ['registry.example.com', 'registry.example.com'],
      ['https://registry.example.com', 'registry.example.com'],
      ['http://registry.example.com/v2/', 'registry.example.com'],
      ['https://index.docker.io/v1/', 'index.docker.io'],
      ['quay.io/coreos', 'quay.io/coreos'],
      ['https://quay.io/v2/coreos', 'quay.io/coreos'],
      ['127.0.0.1:5000', '127.0.0.1:5000'],
      ['bad host', undefined],
      ['host:port', undefined],
    ];
    for (const [loc, want] of cases) assert.equal(keyringKey(loc), want, loc);
  });

  it('globMatch follows filepath.Match on a host part', () => {
    const cases: [string, string, boolean | undefined][] = [
      ['*', 'anything', true],
      ['reg-?', 'reg-1', true],
      ['reg-?', 'reg-12', false],
      ['[a-c]x', 'bx', true],
      ['[^a-c]x', 'bx', false],
      ['[a-c', 'a', undefined],
      ['[]', 'a', undefined],
      ['ex\\*', 'ex*', true],
      ['ex\\*', 'exa', false],
    ];
    for (const [p, s, want] of cases) assert.equal(globMatch(p, s), want, `${p} ~ ${s}`);
  });

  it('urlsMatch: same port, same number of host parts each matching, path prefix', () => {
    const cases: [string, string, boolean][] = [
      ['registry.example.com', 'registry.example.com/app', true],
      ['registry.example.com', 'registry.example.com:5000/app', false],
      ['registry.example.com:5000', 'registry.example.com:5000/app', true],
      ['registry.example.com', 'other.example.com/app', false],
      ['*.example.com', 'a.example.com/app', true],
      ['*.example.com', 'a.b.example.com/app', false],
      ['*.example.com', 'example.com/app', false],
      ['*.*.example.com', 'a.b.example.com/app', true],
      ['quay.io/coreos', 'quay.io/coreos/etcd', true],
      ['quay.io/coreos', 'quay.io/other/etcd', false],
      ['quay.io/coreos', 'quay.io/coreosx/etcd', true], // a plain string prefix, as upstream
      ['docker.io', 'docker.io/library/busybox', true],
      ['index.docker.io', 'docker.io/library/busybox', false],
    ];
    for (const [glob, target, want] of cases) assert.equal(urlsMatch(glob, target), want, `${glob} ~ ${target}`);
  });

  it('isDefaultRegistryMatch: Docker Hub names', () => {
    const cases: [string, boolean][] = [
      ['busybox', true],
      ['library/busybox', true],
      ['docker.io/library/busybox', true],
      ['index.docker.io/x/y', true],
      ['quay.io/x', false],
      ['127.0.0.1:5000/x', false],
      ['localhost/x', true], // no '.' or ':': upstream counts it as a Hub user name
      ['', false],
    ];
    for (const [img, want] of cases) assert.equal(isDefaultRegistryMatch(img), want, img);
  });

  const keyring = (cfg: DockerConfig): DockerKeyring => new DockerKeyring([cfg]);
  const users = (k: DockerKeyring, image: string): string[] => lookupCredentials(image, [k]).map((c) => c.username!);

  it('lookup: most specific location first, every matching one returned, none for other registries', () => {
    const k = keyring({ 'quay.io': entry('quay'), 'quay.io/coreos': entry('coreos'), 'https://quay.io/v2/coreos/etcd': entry('etcd') });
    assert.deepEqual(users(k, 'quay.io/coreos/etcd:v3'), ['etcd', 'coreos', 'quay']);
    assert.deepEqual(users(k, 'quay.io/coreos/flannel'), ['coreos', 'quay']);
    assert.deepEqual(users(k, 'quay.io/prometheus/node-exporter'), ['quay']);
    assert.deepEqual(users(k, 'ghcr.io/x/y'), []);
  });

  it('lookup: index.docker.io credentials serve Docker Hub images only when nothing else matched', () => {
    const k = keyring({ 'https://index.docker.io/v1/': entry('hub'), 'registry.example.com': entry('reg') });
    assert.deepEqual(users(k, 'busybox'), ['hub']);
    assert.deepEqual(users(k, 'docker.io/library/busybox:1.36'), ['hub']);
    assert.deepEqual(users(k, 'index.docker.io/someone/app'), ['hub']);
    assert.deepEqual(users(k, 'registry.example.com/app'), ['reg']);
    assert.deepEqual(users(k, '127.0.0.1:5000/app'), []);
    const both = keyring({ 'https://index.docker.io/v1/': entry('hub'), 'docker.io': entry('dockerio') });
    assert.deepEqual(users(both, 'busybox'), ['dockerio'], 'a direct docker.io match wins over the fallback');
  });

  it('lookup: wildcard hosts and ports', () => {
    const k = keyring({ '*.example.com': entry('wild'), '127.0.0.1:5000': entry('local') });
    assert.deepEqual(users(k, 'eu.example.com/team/app:1'), ['wild']);
    assert.deepEqual(users(k, 'example.com/app'), []);
    assert.deepEqual(users(k, '127.0.0.1:5000/busybox:1.0'), ['local']);
    assert.deepEqual(users(k, '127.0.0.1:5001/busybox:1.0'), []);
  });

  it('a union lists each keyring in turn (pod secrets, then the node)', () => {
    const pod = keyring({ 'registry.example.com': entry('pod') });
    const node = keyring({ 'registry.example.com': entry('node') });
    assert.deepEqual(
      lookupCredentials('registry.example.com/app', [pod, undefined, node]).map((c) => c.username),
      ['pod', 'node'],
    );
    assert.deepEqual(lookupCredentials('registry.example.com/app', [pod])[0], { username: 'pod', password: 'pod-pw' });
  });
});

describe('pull secrets', () => {
  const secret = (name: string, type: string, key: string, doc: unknown): V1Secret => ({
    metadata: { name, namespace: 'default' },
    type,
    data: { [key]: b64(typeof doc === 'string' ? doc : JSON.stringify(doc)) },
  });

  it('reads dockerconfigjson and dockercfg secrets of the matching type only', () => {
    const k = keyringFromSecrets([
      secret('json', 'kubernetes.io/dockerconfigjson', '.dockerconfigjson', { auths: { 'a.example.com': { auth: b64('ua:pa') } } }),
      secret('cfg', 'kubernetes.io/dockercfg', '.dockercfg', { 'b.example.com': { username: 'ub', password: 'pb' } }),
      secret('opaque', 'Opaque', '.dockerconfigjson', { auths: { 'c.example.com': { auth: b64('uc:pc') } } }),
      secret('mismatch', 'kubernetes.io/dockercfg', '.dockerconfigjson', { auths: { 'd.example.com': { auth: b64('ud:pd') } } }),
    ]);
    assert.ok(k);
    assert.deepEqual(lookupCredentials('a.example.com/x', [k]), [{ username: 'ua', password: 'pa' }]);
    assert.deepEqual(lookupCredentials('b.example.com/x', [k]), [{ username: 'ub', password: 'pb' }]);
    assert.deepEqual(lookupCredentials('c.example.com/x', [k]), []);
    assert.deepEqual(lookupCredentials('d.example.com/x', [k]), []);
    assert.equal(keyringFromSecrets([secret('opaque', 'Opaque', 'x', {})]), undefined);
  });

  it('a secret with unreadable JSON throws (the pull fails, as upstream)', () => {
    assert.throws(() => keyringFromSecrets([secret('bad', 'kubernetes.io/dockerconfigjson', '.dockerconfigjson', '{not json')]), SyntaxError);
  });

  it('names the secrets that could not be retrieved, ignoring empty names', () => {
    const pod: V1Pod = { metadata: { name: 'p' }, spec: { containers: [], imagePullSecrets: [{ name: 'a' }, { name: '' }, { name: 'b' }, { name: 'c' }] } };
    assert.deepEqual(missingPullSecrets(pod, [{ metadata: { name: 'b' } }]), ['a', 'c']);
    assert.equal(
      failedPullSecretsMessage(['a', 'c']),
      'Unable to retrieve some image pull secrets (a, c); attempting to pull the image may not succeed.',
    );
  });
});

describe('the node keyring', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-creds-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('default paths: root dir config.json, ~/.docker/config.json, /.docker/config.json, then legacy .dockercfg', () => {
    assert.deepEqual(defaultNodeDockerConfigPaths('/var/lib/nodelet', '/home/u'), [
      '/var/lib/nodelet/config.json',
      '/home/u/.docker/config.json',
      '/.docker/config.json',
      '/var/lib/nodelet/.dockercfg',
      '/home/u/.dockercfg',
      '/.dockercfg',
    ]);
  });

  it('uses the first readable file, skips unreadable ones with a warning, and re-reads after 5 minutes', async () => {
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    const broken = join(dir, 'broken.json');
    const first = join(dir, 'config.json');
    const legacy = join(dir, '.dockercfg');
    writeFileSync(broken, '{oops');
    writeFileSync(first, JSON.stringify({ auths: { 'reg.example.com': { auth: b64('one:1') } } }));
    writeFileSync(legacy, JSON.stringify({ 'reg.example.com': { auth: b64('legacy:1') } }));
    const node = new NodeKeyring([join(dir, 'absent.json'), broken, first, legacy], clock, logger);
    const who = async (): Promise<string[]> => lookupCredentials('reg.example.com/app', [await node.keyring()]).map((c) => c.username!);
    assert.deepEqual(await who(), ['one']);
    assert.ok(logger.find((r) => r.level === 'warn' && r.fields['path'] === broken), 'the broken file is reported');
    assert.ok(!logger.find((r) => r.fields['path'] === join(dir, 'absent.json')), 'a missing file is not');

    rmSync(first);
    await clock.advance(5 * 60_000 - 1);
    assert.deepEqual(await who(), ['one'], 'cached for 5 minutes');
    await clock.advance(1);
    assert.deepEqual(await who(), ['legacy'], 'the legacy .dockercfg format once config.json is gone');
  });

  it('no file: an empty keyring', async () => {
    const node = new NodeKeyring([join(dir, 'nothing.json')], new FakeClock());
    assert.equal((await node.keyring()).size, 0);
  });
});
