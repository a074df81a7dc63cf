// Label and field selectors of the test API server (models apimachinery pkg/labels/selector.go
// Parse and pkg/fields/selector.go ParseSelector, and the per-resource field sets of
// pkg/registry/core/pod/strategy.go ToSelectableFields / node / event strategies).
//
// Differences: set-based label requirements are parsed by a small hand-written scanner (no
// validation of label key/value syntax); field selectors support only =, == and != on the fields
// listed in selectableFields below, as the real server does for these resources.

export interface LabelRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}

export class SelectorError extends Error {}

/** Parses a label selector ("a=b,c!=d,e in (x,y),f notin (z),g,!h"). Empty means everything. */
export function parseLabelSelector(s: string | undefined): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  if (!s || !s.trim()) return out;
  let i = 0;
  const src = s;
  const ws = (): void => {
    while (i < src.length && src[i] === ' ') i++;
  };
  const ident = (): string => {
    ws();
    const m = /^[A-Za-z0-9_./-]+/.exec(src.slice(i));
    if (!m) throw new SelectorError(`unable to parse requirement: found '${src.slice(i, i + 1)}', expected: identifier`);
    i += m[0].length;
    return m[0];
  };
  while (i < src.length) {
    ws();
    if (src[i] === '!') {
      i++;
      out.push({ key: ident(), op: '!exists', values: [] });
    } else {
      const key = ident();
      ws();
      const rest = src.slice(i);
      let m: RegExpExecArray | null;
      if ((m = /^(==|=|!=)/.exec(rest))) {
        i += m[0].length;
        ws();
        const vm = /^[A-Za-z0-9_.-]*/.exec(src.slice(i))!;
        i += vm[0].length;
        out.push({ key, op: m[0] === '!=' ? 'notin' : 'in', values: [vm[0]] });
      } else if ((m = /^(in|notin)\s*\(/.exec(rest))) {
        i += m[0].length;
        const close = src.indexOf(')', i);
        if (close < 0) throw new SelectorError(`unable to parse requirement: expected ')' in ${JSON.stringify(s)}`);
        const values = src.slice(i, close).split(',').map((v) => v.trim()).filter((v) => v !== '');
        i = close + 1;
        out.push({ key, op: m[1] as 'in' | 'notin', values });
      } else {
        out.push({ key, op: 'exists', values: [] });
      }
    }
    ws();
    if (i < src.length) {
      if (src[i] !== ',') throw new SelectorError(`unable to parse requirement: found '${src[i]}', expected: ','`);
      i++;
    }
  }
  return out;
}

export function matchLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!exists':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** Parses a field selector ("spec.nodeName=n1,metadata.name!=x"). */
export function parseFieldSelector(s: string | undefined): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!s || !s.trim()) return out;
  for (const part of s.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    out.push({ field: m[1]!, value: m[3]!, negate: m[2] === '!=' });
  }
  return out;
}

/** Fields each resource can be selected on (the registry strategies' selectable fields). */
const selectableFields: Record<string, string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork',
    'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  nodes: ['spec.unschedulable'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
    'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason',
    'reportingComponent', 'source', 'type'],
  secrets: ['type'],
  namespaces: ['status.phase'],
  certificatesigningrequests: ['spec.signerName'],
};

/** Checks every field is selectable on the resource; returns the error message if not. */
export function checkFieldSelector(resource: string, reqs: FieldRequirement[]): string | undefined {
  const allowed = selectableFields[resource] ?? [];
  for (const r of reqs) {
    if (r.field === 'metadata.name' || r.field === 'metadata.namespace') continue;
    if (!allowed.includes(r.field)) {
      return `field label not supported: ${r.field}`;
    }
  }
  return undefined;
}

function fieldValue(obj: Record<string, unknown>, field: string): string {
  if (field === 'source') {
    const src = (obj.source as { component?: string } | undefined)?.component;
    return src ?? '';
  }
  let cur: unknown = obj;
  for (const p of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return field === 'spec.unschedulable' || field === 'spec.hostNetwork' ? 'false' : '';
  return String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: object): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj as Record<string, unknown>, r.field);
    if ((v === r.value) === r.negate) return false;
  }
  return true;
}

/** The value a field selector requires for `field` (an equality requirement), if any. */
export function requiredField(reqs: FieldRequirement[], field: string): string | undefined {
  return reqs.find((r) => r.field === field && !r.negate)?.value;
}
