// Decoding pod manifests (models the decode half of pkg/kubelet/config/common.go:
// tryDecodeSinglePod / tryDecodePodList).
//
// Differences: a file may hold several YAML documents (`---`), each one pod (upstream: one pod per
// file); JSON is read as YAML (a superset). Errors name the source and, when the text holds more
// than one document, the document (1-based). Nothing here defaults or validates the pod beyond
// apiVersion/kind: see static.ts.

import type { V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ValidationError } from '../../util/errors.js';

export interface ParsedManifests {
  pods: V1Pod[];
  /** For each pod, how errors about it should name it: the source, plus the document when there are several. */
  objects: string[];
  errors: ValidationError[];
}

export interface ParseOptions {
  /** Also accept `kind: PodList` / `kind: List` documents (the http source does). */
  allowList?: boolean;
}

/** Parses YAML or JSON text holding one or more Pod documents; never throws on bad input. */
export function parseManifests(text: string, sourceName: string, opts: ParseOptions = {}): ParsedManifests {
  const pods: V1Pod[] = [];
  const objects: string[] = [];
  const errors: ValidationError[] = [];
  let list;
  try {
    list = [...parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false })];
  } catch (err) {
    errors.push(new ValidationError(sourceName, 'document', `cannot parse: ${err instanceof Error ? err.message : String(err)}`));
    return { pods, objects, errors };
  }
  const multi = list.length > 1;
  list.forEach((doc, i) => {
    const object = multi ? `${sourceName} (document ${i + 1})` : sourceName;
    if (doc.errors.length > 0) {
      errors.push(new ValidationError(object, 'document', `invalid YAML/JSON: ${doc.errors[0]!.message.split('\n')[0]}`));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push(new ValidationError(object, 'document', `cannot decode: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    if (value === null || value === undefined) return; // empty document (only comments or `---`)
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push(new ValidationError(object, 'document', `must be an object, got ${Array.isArray(value) ? 'a list' : typeof value}`));
      return;
    }
    const obj = value as Record<string, unknown>;
    const kind = obj['kind'];
    const apiVersion = obj['apiVersion'];
    if (opts.allowList && (kind === 'PodList' || kind === 'List')) {
      if (apiVersion !== 'v1') {
        errors.push(new ValidationError(object, 'apiVersion', `must be "v1" for kind ${String(kind)}, got ${JSON.stringify(apiVersion)}`));
        return;
      }
      const items = obj['items'];
      if (items !== undefined && items !== null && !Array.isArray(items)) {
        errors.push(new ValidationError(object, 'items', 'must be a list'));
        return;
      }
      ((items as unknown[] | null | undefined) ?? []).forEach((item, j) => {
        const r = checkPod(item, object, `items[${j}].`, kind === 'PodList');
        if (r instanceof ValidationError) errors.push(r);
        else {
          pods.push(r);
          objects.push(`${object} items[${j}]`);
        }
      });
      return;
    }
    const r = checkPod(obj, object, '', false);
    if (r instanceof ValidationError) errors.push(r);
    else {
      pods.push(r);
      objects.push(object);
    }
  });
  return { pods, objects, errors };
}

/** Checks apiVersion/kind (PodList items may omit them) and converts timestamps to Dates. */
function checkPod(v: unknown, object: string, prefix: string, kindOptional: boolean): V1Pod | ValidationError {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return new ValidationError(object, prefix ? prefix.slice(0, -1) : 'document', 'must be an object');
  }
  const obj = v as Record<string, unknown>;
  const kind = obj['kind'];
  const apiVersion = obj['apiVersion'];
  if (!(kindOptional && kind === undefined)) {
    if (kind === undefined || kind === null || kind === '') return new ValidationError(object, `${prefix}kind`, 'Required value: the manifest must say kind: Pod');
    if (kind !== 'Pod') return new ValidationError(object, `${prefix}kind`, `must be "Pod", got ${JSON.stringify(kind)}`);
  }
  if (!(kindOptional && apiVersion === undefined)) {
    if (apiVersion === undefined || apiVersion === null || apiVersion === '') return new ValidationError(object, `${prefix}apiVersion`, 'Required value: the manifest must say apiVersion: v1');
    if (apiVersion !== 'v1') return new ValidationError(object, `${prefix}apiVersion`, `must be "v1", got ${JSON.stringify(apiVersion)}`);
  }
  const meta = obj['metadata'];
  if (meta !== undefined && meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
    return new ValidationError(object, `${prefix}metadata`, 'must be an object');
  }
  const spec = obj['spec'];
  if (spec !== undefined && spec !== null && (typeof spec !== 'object' || Array.isArray(spec))) {
    return new ValidationError(object, `${prefix}spec`, 'must be an object');
  }
  const containers = (spec as Record<string, unknown> | undefined)?.['containers'];
  if (containers !== undefined && containers !== null && !Array.isArray(containers)) {
    return new ValidationError(object, `${prefix}spec.containers`, 'must be a list');
  }
  const pod = { ...obj, apiVersion: 'v1', kind: 'Pod' } as V1Pod;
  if (meta) {
    const m = { ...(meta as Record<string, unknown>) };
    for (const k of ['creationTimestamp', 'deletionTimestamp']) {
      const t = m[k];
      if (typeof t === 'string') {
        const d = new Date(t);
        if (Number.isNaN(d.getTime())) return new ValidationError(object, `${prefix}metadata.${k}`, `not a time: ${JSON.stringify(t)}`);
        m[k] = d;
      } else if (t === null) delete m[k];
    }
    pod.metadata = m as V1Pod['metadata'];
  }
  return pod;
}
