import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { formatTime, formatTimeNano, isMirrorPod, isStaticPod, podFullName } from './podutil.js';

const withAnn = (a?: Record<string, string>): V1Pod => ({ metadata: { name: 'web', namespace: 'prod', ...(a ? { annotations: a } : {}) } });

describe('podutil', () => {
  it('podFullName is name_namespace', () => assert.equal(podFullName(withAnn()), 'web_prod'));

  const staticCases: [Record<string, string> | undefined, boolean][] = [
    [undefined, false],
    [{}, false],
    [{ 'kubernetes.io/config.source': 'api' }, false],
    [{ 'kubernetes.io/config.source': 'file' }, true],
    [{ 'kubernetes.io/config.source': 'http' }, true],
  ];
  for (const [ann, want] of staticCases) it(`isStaticPod(${JSON.stringify(ann)}) = ${want}`, () => assert.equal(isStaticPod(withAnn(ann)), want));

  const mirrorCases: [Record<string, string> | undefined, boolean][] = [
    [undefined, false],
    [{ 'kubernetes.io/config.source': 'file' }, false],
    [{ 'kubernetes.io/config.mirror': 'abc' }, true],
    [{ 'kubernetes.io/config.mirror': '' }, true],
  ];
  for (const [ann, want] of mirrorCases) it(`isMirrorPod(${JSON.stringify(ann)}) = ${want}`, () => assert.equal(isMirrorPod(withAnn(ann)), want));

  it('formatTime is RFC 3339 to the second in UTC', () => {
    assert.equal(formatTime(new Date(Date.UTC(2026, 10, 24, 2, 7, 25, 999))), '2026-11-24T02:07:25Z');
    assert.equal(formatTime(0), '1970-01-01T00:00:00Z');
  });

  it('formatTimeNano trims trailing zeros like Go RFC3339Nano', () => {
    assert.equal(formatTimeNano(Date.UTC(2026, 0, 1, 0, 0, 0, 500)), '2026-01-01T00:00:00.5Z');
    assert.equal(formatTimeNano(Date.UTC(2026, 0, 1, 0, 0, 0, 123)), '2026-01-01T00:00:00.123Z');
    assert.equal(formatTimeNano(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00Z');
  });
});
