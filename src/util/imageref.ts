// Image references as the container runtime and the kubelet see them (docker/distribution's
// reference grammar, simplified): `busybox` means `docker.io/library/busybox:latest`.

import { ValidationError } from './errors.js';

export interface ImageRef {
  /** Registry host, e.g. docker.io, 127.0.0.1:5000, localhost. */
  domain: string;
  /** Repository path inside the registry, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: string;
}

const domainRe = /^(localhost|[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+|[a-zA-Z0-9.-]+:[0-9]+|\[[0-9a-fA-F:]+\](:[0-9]+)?)$/;
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
// OCI image-spec digest grammar: algorithm ":" encoded, with the registered algorithms' encodings
// fixed (lowercase hex of the hash's length), as go-digest validates them.
const digestRe = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const registeredDigestRe: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha384: /^[a-f0-9]{96}$/,
  sha512: /^[a-f0-9]{128}$/,
};

function isValidDigest(digest: string): boolean {
  const m = digestRe.exec(digest);
  if (!m) return false;
  const encodedRe = registeredDigestRe[m[1]!];
  return encodedRe === undefined || encodedRe.test(m[2]!);
}

/** Parses an image reference; throws ValidationError (field "image") if it is malformed. */
export function parseImageRef(ref: string, object = 'image'): ImageRef {
  const bad = (why: string): never => {
    throw new ValidationError(object, 'image', `invalid reference format "${ref}": ${why}`);
  };
  if (ref === '' || ref !== ref.trim()) bad('empty or surrounded by spaces');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) bad('bad digest');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) bad('bad tag');
  }
  let domain = 'docker.io';
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first === 'localhost' || first.includes('.') || first.includes(':') || first.startsWith('[')) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!domainRe.test(domain)) bad('bad registry host');
      if (domain === 'index.docker.io') domain = 'docker.io'; // legacy name of Docker Hub, as in ParseNormalizedNamed
    }
  }
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (path === '' || !path.split('/').every((c) => pathComponentRe.test(c))) bad('repository name must be lowercase letters, digits and separators');
  const out: ImageRef = { domain, path };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** The fully qualified form the runtime stores: `docker.io/library/busybox:latest`. */
export function normalizeImageRef(ref: string): string {
  const r = parseImageRef(ref);
  const name = `${r.domain}/${r.path}`;
  if (r.digest) return `${name}@${r.digest}`;
  return `${name}:${r.tag ?? 'latest'}`;
}

/** Repository without tag or digest: `docker.io/library/busybox`. */
export function repositoryOf(ref: string): string {
  const r = parseImageRef(ref);
  return `${r.domain}/${r.path}`;
}

/** True when the reference names no tag, or the `latest` tag (and no digest). */
export function isLatestOrUntagged(ref: string): boolean {
  const r = parseImageRef(ref);
  return !r.digest && (r.tag === undefined || r.tag === 'latest');
}
