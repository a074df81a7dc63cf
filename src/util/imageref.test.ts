import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from './errors.js';
import { isLatestOrUntagged, normalizeImageRef, parseImageRef, repositoryOf, type ImageRef } from './imageref.js';

const hex = '0123456789abcdef'.repeat(4); // 64 hex digits
const digest = `sha256:${hex}`;

interface Case {
  ref: string;
  parsed: ImageRef;
  normalized: string;
  repository: string;
  latest: boolean;
}

const valid: Case[] = [
  {
    ref: 'busybox',
    parsed: { domain: 'docker.io', path: 'library/busybox' },
    normalized: 'docker.io/library/busybox:latest',
    repository: 'docker.io/library/busybox',
    latest: true,
  },
  {
    ref: 'busybox:latest',
    parsed: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' },
    normalized: 'docker.io/library/busybox:latest',
    repository: 'docker.io/library/busybox',
    latest: true,
  },
  {
    ref: 'busybox:1.36',
    parsed: { domain: 'docker.io', path: 'library/busybox', tag: '1.36' },
    normalized: 'docker.io/library/busybox:1.36',
    repository: 'docker.io/library/busybox',
    latest: false,
  },
  {
    ref: 'user/app:1',
    parsed: { domain: 'docker.io', path: 'user/app', tag: '1' },
    normalized: 'docker.io/user/app:1',
    repository: 'docker.io/user/app',
    latest: false,
  },
  {
    ref: 'docker.io/busybox',
    parsed: { domain: 'docker.io', path: 'library/busybox' },
    normalized: 'docker.io/library/busybox:latest',
    repository: 'docker.io/library/busybox',
    latest: true,
  },
  {
    ref: 'docker.io/library/busybox:latest',
    parsed: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' },
    normalized: 'docker.io/library/busybox:latest',
    repository: 'docker.io/library/busybox',
    latest: true,
  },
  {
    ref: 'localhost/busybox:latest',
    parsed: { domain: 'localhost', path: 'busybox', tag: 'latest' },
    normalized: 'localhost/busybox:latest',
    repository: 'localhost/busybox',
    latest: true,
  },
  {
    ref: 'localhost/pause',
    parsed: { domain: 'localhost', path: 'pause' },
    normalized: 'localhost/pause:latest',
    repository: 'localhost/pause',
    latest: true,
  },
  {
    ref: '127.0.0.1:5000/busybox:1.0',
    parsed: { domain: '127.0.0.1:5000', path: 'busybox', tag: '1.0' },
    normalized: '127.0.0.1:5000/busybox:1.0',
    repository: '127.0.0.1:5000/busybox',
    latest: false,
  },
  {
    ref: 'localhost:5000/team/app',
    parsed: { domain: 'localhost:5000', path: 'team/app' },
    normalized: 'localhost:5000/team/app:latest',
    repository: 'localhost:5000/team/app',
    latest: true,
  },
  {
    ref: 'registry.k8s.io/pause:3.9',
    parsed: { domain: 'registry.k8s.io', path: 'pause', tag: '3.9' },
    normalized: 'registry.k8s.io/pause:3.9',
    repository: 'registry.k8s.io/pause',
    latest: false,
  },
  {
    ref: 'registry.k8s.io/e2e-test-images/agnhost:2.39',
    parsed: { domain: 'registry.k8s.io', path: 'e2e-test-images/agnhost', tag: '2.39' },
    normalized: 'registry.k8s.io/e2e-test-images/agnhost:2.39',
    repository: 'registry.k8s.io/e2e-test-images/agnhost',
    latest: false,
  },
  {
    ref: '[::1]:5000/app:v1',
    parsed: { domain: '[::1]:5000', path: 'app', tag: 'v1' },
    normalized: '[::1]:5000/app:v1',
    repository: '[::1]:5000/app',
    latest: false,
  },
  {
    ref: 'my_app-x.y:V1_beta-2',
    parsed: { domain: 'docker.io', path: 'library/my_app-x.y', tag: 'V1_beta-2' },
    normalized: 'docker.io/library/my_app-x.y:V1_beta-2',
    repository: 'docker.io/library/my_app-x.y',
    latest: false,
  },
  {
    ref: `busybox@${digest}`,
    parsed: { domain: 'docker.io', path: 'library/busybox', digest },
    normalized: `docker.io/library/busybox@${digest}`,
    repository: 'docker.io/library/busybox',
    latest: false,
  },
  {
    ref: `registry.k8s.io/pause@${digest}`,
    parsed: { domain: 'registry.k8s.io', path: 'pause', digest },
    normalized: `registry.k8s.io/pause@${digest}`,
    repository: 'registry.k8s.io/pause',
    latest: false,
  },
  {
    // tag + digest: the digest wins, as containerd resolves it
    ref: `busybox:1.36@${digest}`,
    parsed: { domain: 'docker.io', path: 'library/busybox', tag: '1.36', digest },
    normalized: `docker.io/library/busybox@${digest}`,
    repository: 'docker.io/library/busybox',
    latest: false,
  },
  {
    ref: `127.0.0.1:5000/busybox:latest@${digest}`,
    parsed: { domain: '127.0.0.1:5000', path: 'busybox', tag: 'latest', digest },
    normalized: `127.0.0.1:5000/busybox@${digest}`,
    repository: '127.0.0.1:5000/busybox',
    latest: false, // pinned by digest: not "latest" for the pull policy
  },
];

describe('image references: valid', () => {
  for (const tc of valid) {
    it(tc.ref, () => {
      assert.deepEqual(parseImageRef(tc.ref), tc.parsed);
      assert.equal(normalizeImageRef(tc.ref), tc.normalized);
      assert.equal(repositoryOf(tc.ref), tc.repository);
      assert.equal(isLatestOrUntagged(tc.ref), tc.latest);
      // normalizing is idempotent
      assert.equal(normalizeImageRef(tc.normalized), tc.normalized);
      assert.equal(repositoryOf(tc.normalized), tc.repository);
    });
  }
});

describe('image references: invalid', () => {
  const invalid: { ref: string; why: RegExp }[] = [
    { ref: '', why: /empty/ },
    { ref: ' busybox', why: /spaces/ },
    { ref: 'busybox ', why: /spaces/ },
    { ref: 'UPPER/case', why: /lowercase/ },
    { ref: 'Busybox', why: /lowercase/ },
    { ref: 'example.com/UP', why: /lowercase/ },
    { ref: 'busybox:', why: /bad tag/ },
    { ref: 'busybox:-x', why: /bad tag/ },
    { ref: `busybox:${'x'.repeat(129)}`, why: /bad tag/ },
    { ref: 'a b', why: /lowercase/ },
    { ref: 'busybox@sha256:short', why: /bad digest/ },
    { ref: 'busybox@', why: /bad digest/ },
    { ref: 'busybox@sha256:', why: /bad digest/ },
    { ref: `busybox@${hex}`, why: /bad digest/ },
    { ref: '/busybox', why: /lowercase/ },
    { ref: 'busybox/', why: /lowercase/ },
    { ref: 'a//b', why: /lowercase/ },
    { ref: '_app', why: /lowercase/ },
    { ref: 'app-', why: /lowercase/ },
    { ref: 'host:notaport/app', why: /bad registry host/ },
    { ref: 'busybox:1:2', why: /lowercase/ },
  ];
  for (const tc of invalid) {
    it(JSON.stringify(tc.ref), () => {
      for (const fn of [parseImageRef, normalizeImageRef, repositoryOf, isLatestOrUntagged]) {
        assert.throws(
          () => fn(tc.ref),
          (e: unknown) => {
            assert.ok(e instanceof ValidationError, `${fn.name}: a ValidationError`);
            assert.equal(e.field, 'image');
            assert.equal(e.object, 'image');
            assert.equal(e.code, 'Invalid');
            assert.ok(e.message.startsWith('image: image: invalid reference format'), e.message);
            assert.ok(e.message.includes(JSON.stringify(tc.ref)), `message quotes the reference: ${e.message}`);
            assert.match(e.detail, tc.why);
            return true;
          },
        );
      }
    });
  }

  it('names the object it was given', () => {
    assert.throws(
      () => parseImageRef('UPPER', 'pod default/web'),
      (e: unknown) => e instanceof ValidationError && e.object === 'pod default/web' && e.field === 'image' && e.message.startsWith('pod default/web: image: '),
    );
  });
});

describe('image references: docker/distribution compatibility', () => {
  // ParseNormalizedNamed maps the legacy index.docker.io onto docker.io (and adds library/).
  it(
    'index.docker.io/busybox normalizes to docker.io/library/busybox:latest',
    () => {
      assert.equal(normalizeImageRef('index.docker.io/busybox'), 'docker.io/library/busybox:latest');
      assert.equal(repositoryOf('index.docker.io/library/busybox:1'), 'docker.io/library/busybox');
    },
  );

  // go-digest validates sha256 digests as exactly 64 lowercase hex digits.
  for (const bad of [`busybox@sha256:${'a'.repeat(32)}`, `busybox@sha256:${'A'.repeat(64)}`, `busybox@sha256:${'a'.repeat(65)}`]) {
    it(
      `rejects ${bad.slice(0, 24)}... (${bad.length - 'busybox@sha256:'.length} digits)`,
      () => {
        assert.throws(() => parseImageRef(bad), ValidationError);
      },
    );
  }
});
