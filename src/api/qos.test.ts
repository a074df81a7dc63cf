import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { computePodQOSClass, getPodQOSClass, type PodQOSClass } from './qos.js';

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const c = (name: string, resources?: Res): V1Container => ({ name, image: 'x', ...(resources ? { resources } : {}) });
const pod = (containers: V1Container[], init: V1Container[] = []): V1Pod => ({ metadata: { name: 'p' }, spec: { containers, initContainers: init } });
const both = (cpu: string, mem: string) => ({ cpu, memory: mem });

describe('getPodQOSClass', () => {
  const cases: [string, V1Pod, PodQOSClass][] = [
    ['no resources', pod([c('a'), c('b')]), 'BestEffort'],
    ['only zero quantities', pod([c('a', { requests: { cpu: '0' }, limits: { memory: '0' } })]), 'BestEffort'],
    ['only extended resources', pod([c('a', { requests: { 'example.com/gpu': '1' }, limits: { 'example.com/gpu': '1' } })]), 'BestEffort'],
    ['only ephemeral-storage', pod([c('a', { limits: { 'ephemeral-storage': '1Gi' }, requests: { 'ephemeral-storage': '1Gi' } })]), 'BestEffort'],
    ['limits == requests for cpu and memory', pod([c('a', { requests: both('1', '1Gi'), limits: both('1', '1Gi') })]), 'Guaranteed'],
    ['equal in different units', pod([c('a', { requests: both('1000m', '1024Mi'), limits: both('1', '1Gi') })]), 'Guaranteed'],
    ['two guaranteed containers', pod([c('a', { requests: both('1', '1Gi'), limits: both('1', '1Gi') }), c('b', { requests: both('100m', '1Mi'), limits: both('100m', '1Mi') })]), 'Guaranteed'],
    ['guaranteed plus extended resource', pod([c('a', { requests: { ...both('1', '1Gi'), 'example.com/gpu': '1' }, limits: { ...both('1', '1Gi'), 'example.com/gpu': '2' } })]), 'Guaranteed'],
    ['request below limit', pod([c('a', { requests: both('500m', '1Gi'), limits: both('1', '1Gi') })]), 'Burstable'],
    ['only cpu limits', pod([c('a', { requests: { cpu: '1' }, limits: { cpu: '1' } })]), 'Burstable'],
    ['limits without requests (undefaulted)', pod([c('a', { limits: both('1', '1Gi') })]), 'Burstable'],
    ['one guaranteed, one best-effort container', pod([c('a', { requests: both('1', '1Gi'), limits: both('1', '1Gi') }), c('b')]), 'Burstable'],
    ['requests only', pod([c('a', { requests: { memory: '10Mi' } })]), 'Burstable'],
    ['init container without limits spoils Guaranteed', pod([c('a', { requests: both('1', '1Gi'), limits: both('1', '1Gi') })], [c('i', { requests: { cpu: '1' } })]), 'Burstable'],
    ['init container guaranteed too', pod([c('a', { requests: both('1', '1Gi'), limits: both('1', '1Gi') })], [c('i', { requests: both('1', '1Gi'), limits: both('1', '1Gi') })]), 'Guaranteed'],
    ['best-effort containers, resourced init container', pod([c('a')], [c('i', { requests: { cpu: '1' } })]), 'Burstable'],
    // Upstream compares the sums, not each container: 1+2 == 2+1.
    ['sums equal although containers differ', pod([c('a', { requests: both('1', '1Gi'), limits: both('2', '1Gi') }), c('b', { requests: both('2', '1Gi'), limits: both('1', '1Gi') })]), 'Guaranteed'],
    ['zero request counts as absent', pod([c('a', { requests: { cpu: '0', memory: '1Gi' }, limits: both('1', '1Gi') })]), 'Burstable'],
  ];
  for (const [name, p, want] of cases) {
    it(`${name} -> ${want}`, () => assert.equal(getPodQOSClass(p), want));
  }

  it('prefers status.qosClass when set', () => {
    const p = pod([c('a')]);
    p.status = { qosClass: 'Burstable' };
    assert.equal(getPodQOSClass(p), 'Burstable');
    assert.equal(computePodQOSClass(p), 'BestEffort');
  });
});
