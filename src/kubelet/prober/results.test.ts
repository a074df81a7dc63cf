import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResultsManager, type ResultUpdate } from './results.js';

describe('ResultsManager', () => {
  it('caches results per container and tells subscribers of changes only', () => {
    const m = new ResultsManager();
    const pod = { metadata: { uid: 'pod-1' } };
    const seen: ResultUpdate[] = [];
    const off = m.onUpdate((u) => seen.push(u));
    assert.equal(m.get('c1'), undefined);
    m.set('c1', 'Failure', pod);
    m.set('c1', 'Failure', pod);
    m.set('c1', 'Success', pod);
    m.set('c2', 'Unknown', pod);
    assert.equal(m.get('c1'), 'Success');
    assert.deepEqual(seen, [
      { containerId: 'c1', result: 'Failure', podUid: 'pod-1' },
      { containerId: 'c1', result: 'Success', podUid: 'pod-1' },
      { containerId: 'c2', result: 'Unknown', podUid: 'pod-1' },
    ]);
    m.remove('c1');
    assert.equal(m.get('c1'), undefined);
    assert.equal(seen.length, 3, 'remove sends no update');
    m.set('c1', 'Success', pod);
    assert.equal(seen.length, 4, 'a result after a removal is new again');
    off();
    m.set('c1', 'Failure', pod);
    assert.equal(seen.length, 4);
  });
});
