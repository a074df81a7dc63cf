// Hashes of API objects (models pkg/kubelet/container.HashContainer and pkg/util/hash.DeepHashObject).
//
// Differences: upstream hashes Go's JSON encoding (HashContainer, FNV-32a) or a spew dump
// (DeepHashObject, md5) of the Go struct; nodelet hashes a canonical JSON (sorted keys) of the
// plain object. So hashes are stable across nodelet runs and key order, but are not equal to the
// ones upstream computes for the same object. hashContainer drops empty values (undefined, null,
// "", [], {}) at any depth, the way Go's omitempty makes a field written or omitted encode alike;
// false and 0 are kept (runAsUser: 0 is not the same as no runAsUser).

import { createHash } from 'node:crypto';
import type { V1Container } from '@kubernetes/client-node';

/** JSON with object keys sorted at every depth; undefined members dropped (as JSON.stringify does). */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v, false)) ?? 'null';
}

/** Like canonicalJSON, but also drops null, "", [] and {} object members, recursively. */
export function canonicalJSONOmitEmpty(v: unknown): string {
  return JSON.stringify(sortKeys(v, true) ?? null);
}

function sortKeys(v: unknown, omitEmpty: boolean): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) {
    const arr = v.map((x) => sortKeys(x, omitEmpty));
    return omitEmpty ? arr.map((x) => (x === undefined ? null : x)) : arr;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = sortKeys((v as Record<string, unknown>)[k], omitEmpty);
      if (x === undefined) continue;
      if (omitEmpty && isEmpty(x)) continue;
      out[k] = x;
    }
    return out;
  }
  return v;
}

function isEmpty(x: unknown): boolean {
  if (x === null || x === '') return true;
  if (Array.isArray(x)) return x.length === 0;
  if (typeof x === 'object') return Object.keys(x as object).length === 0;
  return false;
}

/** FNV-1a, 32 bit, over the UTF-8 bytes of s. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The container's hash, kept in the container's labels to notice a changed spec: FNV-1a 32 over
 * the canonical JSON, in lower-case hex without padding (as upstream's strconv.FormatUint(h, 16)).
 */
export function hashContainer(c: V1Container): string {
  return fnv1a32(canonicalJSONOmitEmpty(c)).toString(16);
}

/** md5 (hex) of the object's canonical JSON: a deterministic content hash, e.g. for static pod UIDs. */
export function deepHash(obj: unknown): string {
  return createHash('md5').update(canonicalJSON(obj)).digest('hex');
}
