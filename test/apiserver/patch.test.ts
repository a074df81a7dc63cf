import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';

describe('patch', () => {
  it('merge patch (RFC 7386): null deletes, objects merge, lists replace', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 5 }, l: [3] }), { b: { c: 5, d: 3 }, l: [3] });
  });

  it('JSON patch (RFC 6902): add/remove/replace/move/copy/test, errors', () => {
    const doc = { a: [1, 2], b: { c: 1 } };
    assert.deepEqual(jsonPatch(doc, [
      { op: 'add', path: '/a/-', value: 3 }, { op: 'remove', path: '/a/0' }, { op: 'replace', path: '/b/c', value: 2 },
      { op: 'copy', from: '/b', path: '/d' }, { op: 'move', from: '/d/c', path: '/e' }, { op: 'test', path: '/e', value: 2 },
    ]), { a: [2, 3], b: { c: 2 }, d: {}, e: 2 });
    assert.deepEqual(doc, { a: [1, 2], b: { c: 1 } }, 'input untouched');
    assert.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/zz' }]), PatchError);
    assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/b/c', value: 9 }]), /test failed/);
    assert.deepEqual(jsonPatch({ 'a/b': 1 }, [{ op: 'replace', path: '/a~1b', value: 2 }]), { 'a/b': 2 });
  });

  it('strategic merge: keyed lists merge, $patch delete, atomic lists replace, finalizers union', () => {
    const pod = {
      metadata: { finalizers: ['a'] },
      status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'Initialized', status: 'True' }], containerStatuses: [{ name: 'a' }, { name: 'b' }] },
    };
    const out = strategicMergePatch('pods', pod, {
      metadata: { finalizers: ['b'] },
      status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Initialized', $patch: 'delete' }], containerStatuses: [{ name: 'b', ready: true }] },
    }) as typeof pod;
    assert.deepEqual(out.metadata.finalizers, ['a', 'b']);
    assert.deepEqual(out.status.conditions, [{ type: 'Ready', status: 'True' }]);
    assert.deepEqual(out.status.containerStatuses, [{ name: 'b', ready: true }], 'containerStatuses is atomic upstream');
    const node = { spec: { taints: [{ key: 'a' }] }, status: { addresses: [{ type: 'Hostname', address: 'h' }] } };
    const n = strategicMergePatch('nodes', node, { spec: { taints: [] }, status: { addresses: [{ type: 'InternalIP', address: '1' }] } }) as typeof node;
    assert.deepEqual(n.spec.taints, []);
    assert.deepEqual(n.status.addresses, [{ type: 'Hostname', address: 'h' }, { type: 'InternalIP', address: '1' }]);
    assert.deepEqual(strategicMergePatch('pods', { status: { conditions: [{ type: 'A' }] } }, { status: { conditions: [{ type: 'B' }, { $patch: 'replace' }] } }),
      { status: { conditions: [{ type: 'B' }] } });
  });
});
