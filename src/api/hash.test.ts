import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { canonicalJSON, deepHash, fnv1a32, hashContainer } from './hash.js';

const base: V1Container = {
  name: 'app',
  image: 'busybox:1.36',
  command: ['sh', '-c', 'sleep 1000'],
  env: [{ name: 'A', value: '1' }],
  resources: { limits: { cpu: '1' } },
  securityContext: { runAsUser: 0 },
};

describe('fnv1a32', () => {
  const vectors: [string, number][] = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ];
  for (const [s, want] of vectors) it(`fnv1a32(${JSON.stringify(s)})`, () => assert.equal(fnv1a32(s), want));
});

describe('hashContainer', () => {
  it('is a lower-case hex string', () => assert.match(hashContainer(base), /^[0-9a-f]{1,8}$/));

  it('does not depend on key order', () => {
    const reordered = {
      securityContext: { runAsUser: 0 },
      resources: { limits: { cpu: '1' } },
      env: [{ value: '1', name: 'A' }],
      command: ['sh', '-c', 'sleep 1000'],
      image: 'busybox:1.36',
      name: 'app',
    } as V1Container;
    assert.equal(hashContainer(reordered), hashContainer(base));
  });

  it('ignores undefined, null and empty values', () => {
    const padded = { ...base, args: [], workingDir: '', ports: undefined, volumeMounts: null, resources: { limits: { cpu: '1' }, requests: {} } } as unknown as V1Container;
    assert.equal(hashContainer(padded), hashContainer(base));
  });

  const changes: [string, Partial<V1Container>][] = [
    ['image', { image: 'busybox:1.37' }],
    ['command', { command: ['sh', '-c', 'sleep 1001'] }],
    ['env value', { env: [{ name: 'A', value: '2' }] }],
    ['limits', { resources: { limits: { cpu: '2' } } }],
    ['runAsUser 0 -> absent', { securityContext: {} }],
    ['args order', { args: ['b', 'a'] }],
  ];
  for (const [what, patch] of changes) {
    it(`changes when ${what} changes`, () => assert.notEqual(hashContainer({ ...base, ...patch }), hashContainer(base)));
  }
  it('keeps array order significant', () => {
    assert.notEqual(hashContainer({ ...base, args: ['a', 'b'] }), hashContainer({ ...base, args: ['b', 'a'] }));
  });
});

describe('deepHash', () => {
  it('is the md5 of the canonical JSON', () => {
    assert.equal(canonicalJSON({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
    assert.equal(deepHash({ b: 1, a: 2 }), deepHash({ a: 2, b: 1 }));
    assert.match(deepHash({}), /^[0-9a-f]{32}$/);
    assert.equal(deepHash('x'), '3fbf839fa0e778a20326ddc34f5cd588');
  });
  it('changes with the content', () => assert.notEqual(deepHash({ a: 1 }), deepHash({ a: 2 })));
  it('treats dates by their instant', () => assert.equal(deepHash({ t: new Date(0) }), deepHash({ t: '1970-01-01T00:00:00.000Z' })));
});
