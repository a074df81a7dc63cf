import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFieldSelector, matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';

describe('selectors', () => {
  it('label selectors: equality, set-based, existence', () => {
    const l = { app: 'web', tier: 'fe' };
    const table: [string, boolean][] = [
      ['', true], ['app=web', true], ['app==web', true], ['app!=web', false], ['app!=db', true], ['missing!=x', true],
      ['app in (db,web)', true], ['app in (db)', false], ['app notin (db)', true], ['app notin (web, db)', false],
      ['tier', true], ['!tier', false], ['!missing', true], ['app=web, tier=fe', true], ['app=web,tier=be', false],
    ];
    for (const [sel, want] of table) assert.equal(matchLabels(parseLabelSelector(sel), l), want, sel);
    assert.throws(() => parseLabelSelector('app in (a'), SelectorError);
    assert.throws(() => parseLabelSelector('a=b;c'), SelectorError);
  });

  it('field selectors: =, ==, != and the selectable fields', () => {
    const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
    const table: [string, boolean][] = [
      ['spec.nodeName=n1', true], ['spec.nodeName==n1', true], ['spec.nodeName!=n1', false], ['metadata.name=p,metadata.namespace=ns', true],
      ['status.phase!=Running', false], ['spec.nodeName=', false],
    ];
    for (const [sel, want] of table) assert.equal(matchFields(parseFieldSelector(sel), pod), want, sel);
    assert.equal(checkFieldSelector('pods', parseFieldSelector('spec.nodeName=n1')), undefined);
    assert.equal(checkFieldSelector('pods', parseFieldSelector('spec.bogus=1')), 'field label not supported: spec.bogus');
    assert.equal(matchFields(parseFieldSelector('involvedObject.name=p'), { involvedObject: { name: 'p' } }), true);
  });
});
