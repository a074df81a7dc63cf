import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../util/errors.js';
import { compareQuantities, cpuMillis, isIntegerQuantity, memoryBytes, parseQuantity, QuantitySum, roundUpToMilli } from './quantity.js';

describe('parseQuantity', () => {
  const cases: [string | number, number][] = [
    ['0', 0],
    ['1', 1],
    ['+1', 1],
    ['-1', -1],
    ['1.5', 1.5],
    ['1.', 1],
    ['.5', 0.5],
    ['100m', 0.1],
    ['1n', 1e-9],
    ['1u', 1e-6],
    ['1k', 1000],
    ['1M', 1e6],
    ['1G', 1e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['1Mi', 1024 ** 2],
    ['1Gi', 1024 ** 3],
    ['1Ti', 1024 ** 4],
    ['1Pi', 1024 ** 5],
    ['1Ei', 1024 ** 6],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e-3', 0.001],
    ['1e+3', 1000],
    ['12e0', 12],
    ['0.7', 0.7],
    ['007', 7],
    [2, 2],
    [0.25, 0.25],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} -> ${want}`, () => assert.equal(parseQuantity(input), want));
  }

  const bad = ['', ' 1', '1 ', 'abc', '1K', '1kb', '1gi', '.', '-', '1.5.5', '1e', '1e1.5', 'e3', '1Gi1', '1 Gi', '--1', '1e99999'];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)} with a ValidationError`, () => {
      assert.throws(() => parseQuantity(input), (err: unknown) => err instanceof ValidationError && err.field === 'quantity');
    });
  }
  it('names the field it was given', () => {
    assert.throws(() => parseQuantity('x', 'limits.cpu'), (err: unknown) => err instanceof ValidationError && err.field === 'limits.cpu');
  });
});

describe('cpuMillis and memoryBytes round up as kube does', () => {
  const cpu: [string | number, number][] = [
    ['100m', 100],
    ['1', 1000],
    ['0.5', 500],
    ['0.1', 100],
    ['1.5', 1500],
    ['250m', 250],
    ['0.0001', 1],
    ['1n', 1],
    ['1001u', 2],
    ['2k', 2_000_000],
    ['1e-3', 1],
    [0.7, 700],
    ['0', 0],
    ['-0.0005', -1],
  ];
  for (const [input, want] of cpu) it(`cpuMillis(${JSON.stringify(input)}) = ${want}`, () => assert.equal(cpuMillis(input), want));

  const mem: [string, number][] = [
    ['128Mi', 128 * 1024 * 1024],
    ['1Gi', 1024 ** 3],
    ['1G', 1e9],
    ['1.5', 2],
    ['100m', 1],
    ['1500m', 2],
    ['1e3', 1000],
    ['0.5Ki', 512],
    ['123', 123],
  ];
  for (const [input, want] of mem) it(`memoryBytes(${input}) = ${want}`, () => assert.equal(memoryBytes(input), want));

  it('throws ValidationError on a bad quantity', () => {
    assert.throws(() => cpuMillis('1 core'), ValidationError);
    assert.throws(() => memoryBytes('1GB'), ValidationError);
  });
});

describe('exact comparisons and sums', () => {
  const cmp: [string, string, number][] = [
    ['1', '1000m', 0],
    ['1Ki', '1024', 0],
    ['1k', '1Ki', -1],
    ['0.1', '100m', 0],
    ['1e3', '1k', 0],
    ['2', '1999m', 1],
    ['-1', '0', -1],
    ['1.0000000001', '1', 1],
  ];
  for (const [a, b, want] of cmp) it(`compare(${a}, ${b}) = ${want}`, () => assert.equal(compareQuantities(a, b), want));

  it('sums exactly (0.1 + 0.2 == 300m)', () => {
    const a = new QuantitySum().add('0.1').add('0.2');
    const b = new QuantitySum().add('300m');
    assert.equal(a.cmp(b), 0);
    assert.equal(b.toNumber(), 0.3);
  });

  it('knows integer quantities', () => {
    assert.equal(isIntegerQuantity('2'), true);
    assert.equal(isIntegerQuantity('1.5Ki'), true);
    assert.equal(isIntegerQuantity('1.5'), false);
    assert.equal(isIntegerQuantity('100m'), false);
  });

  it('rounds sub-milli values up to milli and leaves others alone', () => {
    assert.equal(roundUpToMilli('100m'), '100m');
    assert.equal(roundUpToMilli('1.5Gi'), '1.5Gi');
    assert.equal(roundUpToMilli('0.0001'), '1m');
    assert.equal(roundUpToMilli('1001u'), '2m');
    assert.equal(roundUpToMilli('999999u'), '1');
  });
});
