import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultEvictionHard } from '../../config/kubeletconfig.js';
import { ValidationError } from '../../util/errors.js';
import { effectiveThresholds, parsePercentage, parseThresholdConfig, thresholdQuantity, type ThresholdConfig } from './thresholds.js';

const Mi = 1024 * 1024;

describe('parseThresholdConfig', () => {
  it('parses the Linux defaults into five hard LessThan thresholds', () => {
    const ts = parseThresholdConfig({ evictionHard: { ...defaultEvictionHard } });
    assert.deepEqual(
      ts.map((t) => [t.signal, t.operator, t.value, t.gracePeriodMs]),
      [
        ['memory.available', 'LessThan', { quantity: 100 * Mi }, 0],
        ['nodefs.available', 'LessThan', { percentage: Math.fround(0.1) }, 0],
        ['nodefs.inodesFree', 'LessThan', { percentage: Math.fround(0.05) }, 0],
        ['imagefs.available', 'LessThan', { percentage: Math.fround(0.15) }, 0],
        ['imagefs.inodesFree', 'LessThan', { percentage: Math.fround(0.05) }, 0],
      ],
    );
  });

  const good: { name: string; cfg: ThresholdConfig; want: unknown[] }[] = [
    { name: 'quantity', cfg: { evictionHard: { 'nodefs.available': '1Gi' } }, want: [['nodefs.available', { quantity: 1024 * Mi }, 0, undefined]] },
    { name: '0% and 100% are ignored', cfg: { evictionHard: { 'nodefs.available': '0%', 'imagefs.available': '100%' } }, want: [] },
    { name: '0.0% is kept (never met)', cfg: { evictionHard: { 'nodefs.available': '0.0%' } }, want: [['nodefs.available', { percentage: 0 }, 0, undefined]] },
    { name: 'fractional percentage', cfg: { evictionHard: { 'pid.available': '2.5%' } }, want: [['pid.available', { percentage: Math.fround(Math.fround(2.5) / 100) }, 0, undefined]] },
    { name: 'containerfs is accepted', cfg: { evictionHard: { 'containerfs.available': '10%' } }, want: [['containerfs.available', { percentage: Math.fround(0.1) }, 0, undefined]] },
    {
      name: 'soft with grace period, minimum reclaim on both',
      cfg: {
        evictionHard: { 'imagefs.available': '15%' },
        evictionSoft: { 'imagefs.available': '20%' },
        evictionSoftGracePeriod: { 'imagefs.available': '1m30s' },
        evictionMinimumReclaim: { 'imagefs.available': '2Gi' },
      },
      want: [
        ['imagefs.available', { percentage: Math.fround(0.15) }, 0, { quantity: 2048 * Mi }],
        ['imagefs.available', { percentage: Math.fround(0.2) }, 90_000, { quantity: 2048 * Mi }],
      ],
    },
    { name: 'minimum reclaim as percentage', cfg: { evictionHard: { 'nodefs.available': '10%' }, evictionMinimumReclaim: { 'nodefs.available': '5%' } }, want: [['nodefs.available', { percentage: Math.fround(0.1) }, 0, { percentage: Math.fround(0.05) }]] },
    { name: 'minimum reclaim of 0 bytes is allowed', cfg: { evictionHard: { 'nodefs.available': '10%' }, evictionMinimumReclaim: { 'nodefs.available': '0' } }, want: [['nodefs.available', { percentage: Math.fround(0.1) }, 0, { quantity: 0 }]] },
  ];
  for (const c of good) {
    it(`accepts: ${c.name}`, () => {
      const ts = parseThresholdConfig(c.cfg);
      assert.deepEqual(
        ts.map((t) => [t.signal, t.value, t.gracePeriodMs, t.minReclaim]),
        c.want,
      );
    });
  }

  const bad: { cfg: ThresholdConfig; message: string }[] = [
    { cfg: { evictionHard: { 'disk.available': '10%' } }, message: 'KubeletConfiguration: evictionHard[disk.available]: unsupported eviction signal disk.available (supported: memory.available' },
    { cfg: { evictionHard: { 'nodefs.available': '150%' } }, message: 'KubeletConfiguration: evictionHard[nodefs.available]: eviction percentage threshold nodefs.available must be <= 100%, got "150%"' },
    { cfg: { evictionHard: { 'nodefs.available': '-5%' } }, message: 'KubeletConfiguration: evictionHard[nodefs.available]: eviction percentage threshold nodefs.available must be >= 0%, got "-5%"' },
    { cfg: { evictionHard: { 'nodefs.available': 'ten%' } }, message: 'KubeletConfiguration: evictionHard[nodefs.available]: invalid percentage "ten%"' },
    { cfg: { evictionHard: { 'memory.available': '0' } }, message: 'KubeletConfiguration: evictionHard[memory.available]: eviction threshold memory.available must be positive, got "0"' },
    { cfg: { evictionHard: { 'memory.available': '-1Mi' } }, message: 'must be positive, got "-1Mi"' },
    { cfg: { evictionHard: { 'memory.available': '100MB' } }, message: 'KubeletConfiguration: evictionHard[memory.available]: must be a quantity such as "100Mi" or a percentage such as "10%": ' },
    { cfg: { evictionSoft: { 'memory.available': '200Mi' } }, message: 'KubeletConfiguration: evictionSoftGracePeriod[memory.available]: grace period must be specified for the soft eviction threshold memory.available' },
    { cfg: { evictionSoft: { 'memory.available': '200Mi' }, evictionSoftGracePeriod: { 'memory.available': 'soon' } }, message: 'KubeletConfiguration: evictionSoftGracePeriod[memory.available]: invalid duration "soon"' },
    { cfg: { evictionSoft: { 'memory.available': '200Mi' }, evictionSoftGracePeriod: { 'memory.available': '-1s' } }, message: 'invalid eviction grace period specified: -1s, must be a positive value' },
    { cfg: { evictionSoftGracePeriod: { 'memory.free': '1s' } }, message: 'KubeletConfiguration: evictionSoftGracePeriod[memory.free]: unsupported eviction signal memory.free' },
    { cfg: { evictionMinimumReclaim: { 'nodefs.available': '0%' } }, message: 'KubeletConfiguration: evictionMinimumReclaim[nodefs.available]: eviction percentage minimum reclaim nodefs.available must be positive, got "0%"' },
    { cfg: { evictionMinimumReclaim: { 'nodefs.available': '-1Gi' } }, message: 'negative eviction minimum reclaim specified for nodefs.available, got "-1Gi"' },
  ];
  for (const c of bad) {
    it(`rejects ${JSON.stringify(c.cfg)}`, () => {
      assert.throws(
        () => parseThresholdConfig(c.cfg),
        (e: unknown) => {
          assert.ok(e instanceof ValidationError, String(e));
          assert.ok(e.message.includes(c.message), `"${e.message}" should contain "${c.message}"`);
          return true;
        },
      );
    });
  }

  it('names the object given as source', () => {
    assert.throws(() => parseThresholdConfig({ evictionHard: { x: '1' } }, '/etc/nodelet/config.yaml'), /^ValidationError: \/etc\/nodelet\/config.yaml: evictionHard\[x\]/);
  });
});

describe('threshold quantities', () => {
  it('percentages are float32 fractions applied with truncation, as upstream', () => {
    assert.equal(parsePercentage('10%'), Math.fround(0.1));
    assert.equal(parsePercentage('10%%'), Math.fround(0.1), 'every trailing % is trimmed');
    // float32(0.1) is slightly above 0.1: 10% of 1000 bytes is 100 (100.0000015 truncated)
    assert.equal(thresholdQuantity({ percentage: parsePercentage('10%') }, 1000), 100);
    // 15% of 100 GiB
    assert.equal(thresholdQuantity({ percentage: parsePercentage('15%') }, 100 * 1024 * Mi), Math.trunc(100 * 1024 * Mi * Math.fround(0.15)));
    assert.equal(thresholdQuantity({ quantity: 5 }, 1000), 5);
  });
});

describe('effectiveThresholds', () => {
  it('drops containerfs and allocatable thresholds with a notice', () => {
    const parsed = parseThresholdConfig({ evictionHard: { 'containerfs.available': '10%', 'allocatableMemory.available': '1Gi', 'nodefs.available': '10%' } });
    const { thresholds, notices } = effectiveThresholds(parsed);
    assert.deepEqual(thresholds.map((t) => t.signal), ['nodefs.available']);
    assert.equal(notices.length, 2);
    assert.match(notices[0]!, /containerfs.available<10% ignored: containerfs follows the nodefs\/imagefs thresholds/);
    assert.match(notices[1]!, /allocatableMemory.available<1Gi ignored/);
  });
});
