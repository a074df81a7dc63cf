import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { extractFieldPathAsString, formatMap } from './fieldpath.js';

const pod: V1Pod = { metadata: { name: 'web', namespace: 'team', uid: 'u1', labels: { b: '2', a: 'x"y' }, annotations: { note: 'hi' } } };

describe('extractFieldPathAsString', () => {
  const cases: [string, string | undefined][] = [
    ['metadata.name', 'web'],
    ['metadata.namespace', 'team'],
    ['metadata.uid', 'u1'],
    ['metadata.labels', 'a="x\\"y"\nb="2"'],
    ['metadata.annotations', 'note="hi"'],
    ["metadata.labels['b']", '2'],
    ["metadata.annotations['missing']", ''],
    ['spec.nodeName', undefined],
    ['status.podIP', undefined],
    ['metadata.generateName', undefined],
  ];
  for (const [path, want] of cases) it(`${path} -> ${JSON.stringify(want)}`, () => assert.equal(extractFieldPathAsString(pod, path), want));
});

describe('formatMap', () => {
  it('key="value" lines in key order, values quoted; nothing for no map', () => {
    assert.equal(formatMap({ z: '1', a: 'two words' }), 'a="two words"\nz="1"');
    assert.equal(formatMap(undefined), '');
  });
});
