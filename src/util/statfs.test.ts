import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fsStatsFromStatfs, statfsPath } from './statfs.js';

describe('statfs', () => {
  it('computes capacity and available bytes from blocks, free blocks for users and the block size', () => {
    assert.deepEqual(fsStatsFromStatfs({ bsize: 4096, blocks: 1000, bavail: 250, files: 64, ffree: 60 }), {
      capacityBytes: 4_096_000,
      availableBytes: 1_024_000,
      inodes: 64,
      inodesFree: 60,
    });
  });

  it('answers for a real directory: capacity is positive and at least what is available', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodelet-statfs-'));
    try {
      const s = await statfsPath(dir);
      assert.ok(s.capacityBytes > 0);
      assert.ok(s.availableBytes >= 0 && s.availableBytes <= s.capacityBytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers for a path that does not exist yet with the filesystem of its nearest existing ancestor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodelet-statfs-'));
    try {
      const missing = await statfsPath(join(dir, 'not', 'yet', 'there'));
      const parent = await statfsPath(dir);
      assert.equal(missing.capacityBytes, parent.capacityBytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
