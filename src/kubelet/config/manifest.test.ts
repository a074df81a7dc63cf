import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifests } from './manifest.js';

const podYaml = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: c\n    image: busybox\n`;

describe('parseManifests', () => {
  const good: [string, string, string[]][] = [
    ['one YAML pod', podYaml('a'), ['a']],
    ['two documents', `${podYaml('a')}---\n${podYaml('b')}`, ['a', 'b']],
    ['leading --- and trailing empty document', `---\n${podYaml('a')}---\n`, ['a']],
    ['comments-only document skipped', `# header\n---\n${podYaml('a')}---\n# trailer\n`, ['a']],
    ['JSON', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' }, spec: { containers: [{ name: 'c', image: 'x' }] } }), ['j']],
    ['pretty JSON', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' } }, null, 2), ['j']],
    ['empty text', '', []],
    ['whitespace only', '\n\n  \n', []],
  ];
  for (const [name, text, names] of good) {
    it(`parses ${name}`, () => {
      const r = parseManifests(text, 'm.yaml');
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.pods.map((p) => p.metadata?.name), names);
    });
  }

  const bad: [string, string, string, string][] = [
    ['wrong kind', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n', 'm.yaml', 'kind'],
    ['wrong apiVersion', 'apiVersion: v2\nkind: Pod\nmetadata: {name: d}\n', 'm.yaml', 'apiVersion'],
    ['missing kind', 'apiVersion: v1\nmetadata: {name: d}\n', 'm.yaml', 'kind'],
    ['missing apiVersion', 'kind: Pod\nmetadata: {name: d}\n', 'm.yaml', 'apiVersion'],
    ['truncated YAML (open quote)', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "we', 'm.yaml', 'document'],
    ['truncated JSON', '{"apiVersion":"v1","kind":"Pod","metadata":{"na', 'm.yaml', 'document'],
    ['garbage', '\t::: {{{ not yaml', 'm.yaml', 'document'],
    ['a list', '- a\n- b\n', 'm.yaml', 'document'],
    ['a scalar', 'hello', 'm.yaml', 'document'],
    ['duplicate keys', 'apiVersion: v1\nkind: Pod\nkind: Pod\n', 'm.yaml', 'document'],
    ['containers not a list', 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: {name: c}}\n', 'm.yaml', 'spec.containers'],
    ['bad timestamp', 'apiVersion: v1\nkind: Pod\nmetadata: {name: a, creationTimestamp: yesterday}\n', 'm.yaml', 'metadata.creationTimestamp'],
    ['PodList without allowList', 'apiVersion: v1\nkind: PodList\nitems: []\n', 'm.yaml', 'kind'],
  ];
  for (const [name, text, object, field] of bad) {
    it(`reports ${name} without throwing`, () => {
      const r = parseManifests(text, 'm.yaml');
      assert.equal(r.pods.length, 0);
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors.map((e) => e.message)));
      assert.equal(r.errors[0]!.object, object);
      assert.equal(r.errors[0]!.field, field);
    });
  }

  it('names the failing document and keeps the others', () => {
    const text = `${podYaml('a')}---\nkind: Service\napiVersion: v1\n---\n${podYaml('c')}`;
    const r = parseManifests(text, '/m/x.yaml');
    assert.deepEqual(r.pods.map((p) => p.metadata?.name), ['a', 'c']);
    assert.deepEqual(r.objects, ['/m/x.yaml (document 1)', '/m/x.yaml (document 3)']);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.object, '/m/x.yaml (document 2)');
    assert.match(r.errors[0]!.message, /document 2\): kind: must be "Pod", got "Service"/);
  });

  it('a document truncated mid-file is an error, earlier documents still count', () => {
    const r = parseManifests(`${podYaml('a')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: 'b`, 'f');
    assert.deepEqual(r.pods.map((p) => p.metadata?.name), ['a']);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.object, 'f (document 2)');
  });

  it('converts metadata timestamps to Dates', () => {
    const r = parseManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: a, creationTimestamp: "2026-01-02T03:04:05Z"}\n', 'f');
    assert.ok(r.pods[0]!.metadata!.creationTimestamp instanceof Date);
    assert.equal(r.pods[0]!.metadata!.creationTimestamp!.toISOString(), '2026-01-02T03:04:05.000Z');
  });

  describe('allowList', () => {
    it('reads a PodList whose items omit kind/apiVersion', () => {
      const text = JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: [{ metadata: { name: 'a' } }, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' } }] });
      const r = parseManifests(text, 'u', { allowList: true });
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.pods.map((p) => [p.kind, p.metadata?.name]), [['Pod', 'a'], ['Pod', 'b']]);
    });
    it('rejects a non-Pod item of a List, naming it', () => {
      const r = parseManifests('apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret}\n', 'u', { allowList: true });
      assert.equal(r.errors[0]!.field, 'items[0].kind');
    });
  });
});
