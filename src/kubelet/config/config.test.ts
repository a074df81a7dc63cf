import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { PodConfig, type PodUpdate } from './config.js';

function pod(name: string, uid: string, extra: { image?: string; ns?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: extra.ns ?? 'default',
      uid,
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: { containers: [{ name: 'c', image: extra.image ?? 'busybox' }] },
    status: { phase: 'Pending' },
  };
}

const seenKey = 'kubernetes.io/config.seen';

describe('PodConfig', () => {
  let clock: FakeClock;
  let logger: MemoryLogger;
  let cfg: PodConfig;
  let updates: PodUpdate[];

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 10, 24, 2, 7, 25, 500));
    logger = new MemoryLogger();
    cfg = new PodConfig({ clock, logger });
    updates = [];
    cfg.onUpdate((u) => updates.push(u));
  });

  const ops = () => updates.map((u) => `${u.op}:${u.source}:${u.pods.map((p) => p.metadata!.uid).join(',')}`);
  const take = () => {
    const o = ops();
    updates = [];
    return o;
  };

  it('ADDs new pods, stamping config.source and config.seen', () => {
    cfg.set('file', [pod('a', 'u1'), pod('b', 'u2')]);
    assert.deepEqual(take(), ['ADD:file:u1,u2']);
    const [a] = cfg.getPods();
    assert.equal(a!.metadata!.annotations!['kubernetes.io/config.source'], 'file');
    assert.equal(a!.metadata!.annotations![seenKey], '2026-11-24T02:07:25.5Z');
  });

  it('sends an empty ADD on a source first, empty set (the source is ready), and nothing on later no-op sets', () => {
    cfg.set('file', []);
    assert.deepEqual(updates, [{ op: 'ADD', source: 'file', pods: [] }]);
    updates = [];
    cfg.set('file', []);
    cfg.set('http', [pod('a', 'u1')]);
    cfg.set('http', [pod('a', 'u1')]);
    assert.deepEqual(take(), ['ADD:http:u1']);
  });

  it('sets config.seen on first sight only', () => {
    cfg.set('file', [pod('a', 'u1')]);
    const first = cfg.getPods()[0]!.metadata!.annotations![seenKey];
    clock.step(60_000);
    cfg.set('file', [pod('a', 'u1', { image: 'busybox:2' })]);
    assert.deepEqual(take(), ['ADD:file:u1', 'UPDATE:file:u1']);
    assert.equal(cfg.getPods()[0]!.metadata!.annotations![seenKey], first);
    assert.equal(updates.length, 0);
  });

  const changes: [string, (p: V1Pod) => void, string][] = [
    ['spec', (p) => (p.spec!.containers[0]!.image = 'busybox:2'), 'UPDATE'],
    ['labels', (p) => (p.metadata!.labels = { app: 'x' }), 'UPDATE'],
    ['an annotation', (p) => (p.metadata!.annotations = { team: 'a' }), 'UPDATE'],
    ['deletionGracePeriodSeconds', (p) => (p.metadata!.deletionGracePeriodSeconds = 5), 'UPDATE'],
    ['deletionTimestamp set', (p) => (p.metadata!.deletionTimestamp = new Date(Date.UTC(2026, 0, 1))), 'DELETE'],
    ['only the status', (p) => (p.status = { phase: 'Running' }), 'RECONCILE'],
  ];
  for (const [what, mutate, op] of changes) {
    it(`a change of ${what} is ${op}`, () => {
      cfg.set('api', [pod('a', 'u1')]);
      updates = [];
      const p = pod('a', 'u1');
      mutate(p);
      cfg.set('api', [p]);
      assert.deepEqual(take(), [`${op}:api:u1`]);
      const stored = cfg.getPods()[0]!;
      assert.equal(canon(stored.spec), canon(p.spec));
      assert.equal(canon(stored.status), canon(p.status));
      assert.equal(canon(stored.metadata!.labels), canon(p.metadata!.labels));
      cfg.set('api', [p]);
      assert.deepEqual(take(), [], 'setting the same again is no change');
    });
  }

  it('ignores changes of the kubelet-local annotations (source, seen, mirror) and keeps them', () => {
    cfg.set('api', [pod('a', 'u1')]);
    updates = [];
    cfg.set('api', [pod('a', 'u1', { annotations: { [seenKey]: 'other', 'kubernetes.io/config.mirror': 'm', 'kubernetes.io/config.source': 'zzz' } })]);
    assert.deepEqual(take(), []);
    cfg.set('api', [pod('a', 'u1', { annotations: { team: 'x' } })]);
    assert.deepEqual(take(), ['UPDATE:api:u1']);
    const ann = cfg.getPods()[0]!.metadata!.annotations!;
    assert.equal(ann['team'], 'x');
    assert.equal(ann['kubernetes.io/config.source'], 'api');
    assert.equal(ann[seenKey], '2026-11-24T02:07:25.5Z');
  });

  it('REMOVEs pods whose UID left the source; an edit of a static pod is REMOVE + ADD', () => {
    cfg.set('file', [pod('a', 'u1'), pod('b', 'u2')]);
    updates = [];
    cfg.set('file', [pod('a', 'u1-v2', { image: 'x:2' }), pod('b', 'u2')]);
    assert.deepEqual(take(), ['REMOVE:file:u1', 'ADD:file:u1-v2']);
    cfg.set('file', []);
    assert.deepEqual(take(), ['REMOVE:file:u1-v2,u2']);
    assert.deepEqual(cfg.getPods(), []);
  });

  it('orders one set’s updates REMOVE, ADD, UPDATE, DELETE, RECONCILE', () => {
    cfg.set('api', [pod('r', 'ur'), pod('u', 'uu'), pod('d', 'ud'), pod('c', 'uc')]);
    updates = [];
    const upd = pod('u', 'uu', { image: 'x:2' });
    const del = pod('d', 'ud');
    del.metadata!.deletionTimestamp = new Date(0);
    const rec = pod('c', 'uc');
    rec.status = { phase: 'Running' };
    cfg.set('api', [rec, del, upd, pod('n', 'un')]);
    assert.deepEqual(take(), ['REMOVE:api:ur', 'ADD:api:un', 'UPDATE:api:uu', 'DELETE:api:ud', 'RECONCILE:api:uc']);
  });

  it('keeps the first of two pods with one full name in a source, and logs the duplicate', () => {
    cfg.set('file', [pod('a', 'u1'), pod('a', 'u2'), pod('a', 'u3', { ns: 'other' })]);
    assert.deepEqual(take(), ['ADD:file:u1,u3']);
    const w = logger.find((r) => r.level === 'warn' && /duplicate/.test(r.msg));
    assert.ok(w);
    assert.equal(w.fields['uid'], 'u2');
    assert.equal(w.fields['pod'], 'a_default');
  });

  it('keeps the first source’s pod when another source offers the same full name, admitting it once the name frees', () => {
    cfg.set('file', [pod('web', 'f1')]);
    cfg.set('http', [pod('web', 'h1'), pod('other', 'h2')]);
    assert.deepEqual(take(), ['ADD:file:f1', 'ADD:http:h2']);
    assert.ok(logger.find((r) => r.level === 'warn' && r.fields['otherSource'] === 'file' && r.fields['uid'] === 'h1'));
    assert.deepEqual(cfg.getPods().map((p) => p.metadata!.uid), ['f1', 'h2']);

    cfg.set('file', []);
    assert.deepEqual(take(), ['REMOVE:file:f1', 'ADD:http:h1']);
    assert.deepEqual(cfg.getPods().map((p) => p.metadata!.uid).sort(), ['h1', 'h2']);
  });

  it('ignores a pod without a UID', () => {
    const p = pod('a', 'x');
    delete p.metadata!.uid;
    cfg.set('file', [p]);
    assert.deepEqual(updates, [{ op: 'ADD', source: 'file', pods: [] }]);
    assert.ok(logger.find((r) => r.level === 'warn' && /UID/.test(r.msg)));
  });

  it('seenAllSources is true once every expected source has called set', () => {
    assert.equal(cfg.seenAllSources([]), true);
    assert.equal(cfg.seenAllSources(['file', 'http']), false);
    cfg.set('file', []);
    assert.equal(cfg.seenAllSources(['file', 'http']), false);
    assert.equal(cfg.seenAllSources(['file']), true);
    cfg.set('http', [pod('a', 'u1')]);
    assert.equal(cfg.seenAllSources(['file', 'http']), true);
  });

  it('does not let subscribers or callers mutate the stored pods', () => {
    const own = new PodConfig({ clock, logger });
    const got: PodUpdate[] = [];
    own.onUpdate((u) => {
      for (const p of u.pods) p.spec!.containers[0]!.image = 'hacked';
    });
    own.onUpdate((u) => got.push(u));
    const input = pod('a', 'u1');
    own.set('file', [input]);
    input.spec!.containers[0]!.image = 'mutated';
    own.getPods()[0]!.spec!.containers[0]!.image = 'also';
    assert.equal(own.getPods()[0]!.spec!.containers[0]!.image, 'busybox');
    assert.equal(got[0]!.pods[0]!.spec!.containers[0]!.image, 'busybox', 'each subscriber gets its own copy');
    assert.equal(input.metadata!.annotations, undefined, 'the caller’s object is not annotated');
  });

  it('survives a throwing subscriber and supports unsubscribe', () => {
    const off = cfg.onUpdate(() => {
      throw new Error('boom');
    });
    cfg.set('file', [pod('a', 'u1')]);
    assert.equal(updates.length, 1);
    assert.ok(logger.find((r) => r.level === 'error'));
    off();
    cfg.set('file', []);
    assert.equal(logger.records.filter((r) => r.level === 'error').length, 1);
  });
});

function canon(v: unknown): string {
  return JSON.stringify(v ?? null);
}
