// Patch types of the test API server (models apiserver pkg/endpoints/handlers/patch.go with
// evanphx/json-patch for RFC 7386 merge patches and RFC 6902 JSON patches, and apimachinery
// pkg/util/strategicpatch for strategic merge patches).
//
// Differences: the strategic merge patch knows the patch strategies from a small table of the
// fields nodelet touches (the `patchStrategy`/`patchMergeKey` struct tags of k8s.io/api core/v1,
// coordination/v1 and the pod template of apps/v1 DaemonSets) instead of reading Go struct tags.
// Lists not in the table are replaced, which is what upstream does for atomic lists (taints,
// tolerations, containerStatuses, images).
// Directives supported: `$patch: replace|delete` (maps and list items), `$setElementOrder/<f>`,
// `$deleteFromPrimitiveList/<f>`, `$retainKeys` (honoured), other `$` keys are dropped.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export class PatchError extends Error {
  constructor(message: string, readonly code = 422) {
    super(message);
  }
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v) as Json;
  }
  return out;
}

function unescapePointer(tok: string): string {
  return tok.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map(unescapePointer);
}

function getAt(doc: Json, toks: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const t of toks) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test). */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('json patch must be an array of operations', 400);
  let doc = structuredClone(target) as Json;
  const parentOf = (toks: string[], path: string): { parent: Json; key: string } => {
    const parent = getAt(doc, toks.slice(0, -1));
    if (parent === undefined || (typeof parent !== 'object') || parent === null) {
      throw new PatchError(`jsonpatch: doc is missing path: "${path}": missing value`);
    }
    return { parent, key: toks[toks.length - 1]! };
  };
  const remove = (path: string): Json => {
    const toks = parsePointer(path);
    const { parent, key } = parentOf(toks, path);
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new PatchError(`jsonpatch: unable to remove nonexistent key: ${key}: missing value`);
      return parent.splice(i, 1)[0]!;
    }
    const obj = parent as JsonObject;
    if (!(key in obj)) throw new PatchError(`jsonpatch: unable to remove nonexistent key: ${key}: missing value`);
    const v = obj[key]!;
    delete obj[key];
    return v;
  };
  const add = (path: string, value: Json, replace: boolean): void => {
    const toks = parsePointer(path);
    if (toks.length === 0) {
      doc = value;
      return;
    }
    const { parent, key } = parentOf(toks, path);
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(i) || i < 0 || i > parent.length || (replace && i >= parent.length)) {
        throw new PatchError(`jsonpatch: unable to access invalid index: ${key}: invalid index referenced`);
      }
      if (replace) parent[i] = value;
      else parent.splice(i, 0, value);
      return;
    }
    const obj = parent as JsonObject;
    if (replace && !(key in obj)) throw new PatchError(`jsonpatch: replace operation does not apply: doc is missing key: ${path}: missing value`);
    obj[key] = value;
  };
  for (const raw of ops) {
    if (!isObject(raw)) throw new PatchError('json patch operation must be an object', 400);
    const op = raw.op;
    const path = String(raw.path ?? '');
    switch (op) {
      case 'add':
        add(path, structuredClone(raw.value ?? null), false);
        break;
      case 'remove':
        remove(path);
        break;
      case 'replace':
        add(path, structuredClone(raw.value ?? null), true);
        break;
      case 'move': {
        const v = remove(String(raw.from ?? ''));
        add(path, v, false);
        break;
      }
      case 'copy': {
        const v = getAt(doc, parsePointer(String(raw.from ?? '')));
        if (v === undefined) throw new PatchError(`jsonpatch: copy from missing path ${String(raw.from)}`);
        add(path, structuredClone(v), false);
        break;
      }
      case 'test': {
        const v = getAt(doc, parsePointer(path));
        if (!deepEqual(v, raw.value)) throw new PatchError(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${String(op)}`, 400);
    }
  }
  return doc;
}

/**
 * Merge keys of lists, by dotted field path from the object root (list indices left out).
 * A string is a merge key; 'primitive' is a merge of a list of scalars (a set union).
 */
export type MergeKeys = Record<string, string>;

const containerKeys = (p: string): MergeKeys => ({
  [`${p}.ports`]: 'containerPort',
  [`${p}.env`]: 'name',
  [`${p}.volumeMounts`]: 'mountPath',
  [`${p}.volumeDevices`]: 'devicePath',
});

const metadataKeys: MergeKeys = {
  'metadata.ownerReferences': 'uid',
  'metadata.finalizers': 'primitive',
};

/** Strategic merge keys per resource (struct tags of k8s.io/api). */
export const strategicMergeKeys: Record<string, MergeKeys> = {
  pods: {
    ...metadataKeys,
    'spec.containers': 'name',
    'spec.initContainers': 'name',
    'spec.ephemeralContainers': 'name',
    ...containerKeys('spec.containers'),
    ...containerKeys('spec.initContainers'),
    'spec.volumes': 'name',
    'spec.imagePullSecrets': 'name',
    'spec.hostAliases': 'ip',
    'status.conditions': 'type',
    'status.podIPs': 'ip',
    'status.hostIPs': 'ip',
  },
  daemonsets: {
    ...metadataKeys,
    'spec.template.spec.containers': 'name',
    'spec.template.spec.initContainers': 'name',
    ...containerKeys('spec.template.spec.containers'),
    ...containerKeys('spec.template.spec.initContainers'),
    'spec.template.spec.volumes': 'name',
    'spec.template.spec.imagePullSecrets': 'name',
    'status.conditions': 'type',
  },
  nodes: {
    ...metadataKeys,
    'spec.podCIDRs': 'primitive',
    'status.conditions': 'type',
    'status.addresses': 'type',
  },
};

function smpObject(orig: JsonObject, patch: JsonObject, keys: MergeKeys, path: string): JsonObject {
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest) as JsonObject;
  }
  if (patch.$patch === 'delete') return {};
  let out: JsonObject = { ...orig };
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  const orders: Record<string, Json[]> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/') && Array.isArray(v)) orders[k.slice('$setElementOrder/'.length)] = v;
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[f];
      if (Array.isArray(cur) && Array.isArray(v)) out[f] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (k.startsWith('$')) continue;
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
    } else if (isObject(v)) {
      out[k] = smpObject(isObject(out[k]) ? (out[k] as JsonObject) : {}, v, keys, childPath);
    } else if (Array.isArray(v)) {
      out[k] = smpList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, keys, childPath);
    } else {
      out[k] = v;
    }
  }
  for (const [f, order] of Object.entries(orders)) {
    const cur = out[f];
    const key = keys[path ? `${path}.${f}` : f];
    if (!Array.isArray(cur) || !key) continue;
    const idOf = (x: Json): Json => (key === 'primitive' ? x : isObject(x) ? (x[key] ?? null) : x);
    const orderIds = order.map((o) => (key === 'primitive' ? o : isObject(o) ? (o[key] ?? null) : o));
    const inOrder = orderIds.map((id) => cur.find((x) => deepEqual(idOf(x), id))).filter((x): x is Json => x !== undefined);
    const rest = cur.filter((x) => !orderIds.some((id) => deepEqual(idOf(x), id)));
    out[f] = [...inOrder, ...rest];
  }
  return out;
}

function smpList(orig: Json[], patch: Json[], keys: MergeKeys, path: string): Json[] {
  const key = keys[path];
  if (!key) return stripDirectives(patch) as Json[];
  if (patch.some((x) => isObject(x) && x.$patch === 'replace')) {
    return stripDirectives(patch.filter((x) => !(isObject(x) && x.$patch === 'replace'))) as Json[];
  }
  if (key === 'primitive') {
    const out = [...orig];
    for (const x of patch) if (!out.some((y) => deepEqual(x, y))) out.push(x);
    return out;
  }
  const out = [...orig];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const id = item[key];
    const idx = out.findIndex((x) => isObject(x) && deepEqual(x[key], id));
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = smpObject(out[idx] as JsonObject, item, keys, path);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
    return out;
  }
  return v;
}

/** Strategic merge patch of `target` by `patch`, with the merge keys of `resource`. */
export function strategicMergePatch(resource: string, target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw new PatchError('strategic merge patch must be a JSON object', 400);
  return smpObject(isObject(target) ? target : {}, patch, strategicMergeKeys[resource] ?? metadataKeys, '');
}

export const PatchTypes = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** Applies a patch by its content type. Throws PatchError (415 for an unsupported type). */
export function applyPatch(contentType: string, resource: string, target: unknown, patch: unknown): unknown {
  const ct = contentType.split(';')[0]!.trim();
  switch (ct) {
    case PatchTypes.json:
      return jsonPatch(target, patch);
    case PatchTypes.merge:
      return mergePatch(target, patch);
    case PatchTypes.strategic:
      return strategicMergePatch(resource, target, patch);
    default:
      throw new PatchError(`the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`, 415);
  }
}
