// Registry credentials for image pulls (models pkg/credentialprovider: config.go, keyring.go,
// provider.go, and pkg/credentialprovider/secrets/secrets.go MakeDockerKeyring).
//
// - Pull secrets: `kubernetes.io/dockerconfigjson` secrets (key `.dockerconfigjson`, `{"auths":
//   {...}}`) and legacy `kubernetes.io/dockercfg` secrets (key `.dockercfg`, the map itself).
//   An entry's `auth` (base64 "user:password", padded or not) overrides username/password.
// - Keyring matching as the kubelet does it: an entry's location loses its `http(s)://` scheme and
//   a leading `/v1/` or `/v2/`; it matches an image's repository (`docker.io/library/busybox`,
//   `127.0.0.1:5000/app`) when the port is the same, the host has as many dot-separated parts with
//   each part a glob match (`*.example.com`), and the entry's path is a prefix of the image's path.
//   Entries are tried most specific first (reverse-sorted); `index.docker.io` entries serve Docker
//   Hub images when nothing else matched.
// - The node's legacy keyring: the first readable docker `config.json` (or `.dockercfg`) of a list
//   of paths, re-read every 5 minutes (the kubelet's CachingDockerConfigProvider lifetime).
//   Pod-secret credentials are tried first, then the node's (UnionDockerKeyring).
//
// Differences: credential provider plugins (exec plugins) are not supported; the node paths skip
// the kubelet's working directory (a stray config.json there would shadow ~/.docker's).

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { repositoryOf } from '../../util/imageref.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import type { AuthConfig } from '../../runtime/index.js';

export const secretTypeDockerConfigJson = 'kubernetes.io/dockerconfigjson';
export const secretTypeDockercfg = 'kubernetes.io/dockercfg';
export const dockerConfigJsonKey = '.dockerconfigjson';
export const dockerConfigKey = '.dockercfg';

/** One registry's credentials, as a docker config holds them (after `auth` is decoded). */
export interface DockerConfigEntry {
  username: string;
  password: string;
  email?: string;
}

/** Registry location (as written in the config) -> credentials, in file order. */
export type DockerConfig = Record<string, DockerConfigEntry>;

/** A JSON object member by name: exact first, then case-insensitively (as Go's encoding/json). */
function member(obj: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function stringMember(obj: Record<string, unknown>, name: string, where: string): string {
  const v = member(obj, name);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new Error(`json: cannot unmarshal ${typeof v} into ${where}.${name} of type string`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const b64Padded = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const b64Raw = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?$/;

/** Decodes a docker config `auth` field: base64("username:password"), padded or not. */
export function decodeDockerConfigFieldAuth(field: string): { username: string; password: string } {
  const padded = field.trim().endsWith('=');
  if (!(padded ? b64Padded : b64Raw).test(field)) {
    const bad = [...field].findIndex((c) => !/[A-Za-z0-9+/=]/.test(c));
    throw new Error(`illegal base64 data at input byte ${bad >= 0 ? bad : field.length}`);
  }
  const decoded = Buffer.from(field, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new Error('unable to parse auth field, must be formatted as base64(username:password)');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function parseEntry(raw: unknown, loc: string): DockerConfigEntry {
  if (!isObject(raw)) throw new Error(`json: cannot unmarshal ${raw === null ? 'null' : typeof raw} into DockerConfigEntry for "${loc}"`);
  const entry: DockerConfigEntry = {
    username: stringMember(raw, 'username', 'DockerConfigEntry'),
    password: stringMember(raw, 'password', 'DockerConfigEntry'),
  };
  const email = stringMember(raw, 'email', 'DockerConfigEntry');
  if (email) entry.email = email;
  const auth = stringMember(raw, 'auth', 'DockerConfigEntry');
  if (auth) Object.assign(entry, decodeDockerConfigFieldAuth(auth));
  return entry;
}

function parseEntries(raw: unknown): DockerConfig {
  const out: DockerConfig = {};
  if (raw === undefined || raw === null) return out;
  if (!isObject(raw)) throw new Error('json: cannot unmarshal a non-object into DockerConfig');
  for (const [loc, v] of Object.entries(raw)) out[loc] = parseEntry(v, loc);
  return out;
}

/** Parses a `.dockerconfigjson` / `config.json` document: `{"auths": {location: entry}}`. */
export function parseDockerConfigJSON(text: string): DockerConfig {
  const doc = JSON.parse(text) as unknown;
  if (!isObject(doc)) throw new Error('json: cannot unmarshal a non-object into DockerConfigJSON');
  return parseEntries(member(doc, 'auths'));
}

/** Parses a legacy `.dockercfg` document: `{location: entry}`. */
export function parseDockercfg(text: string): DockerConfig {
  return parseEntries(JSON.parse(text) as unknown);
}

// ---------------------------------------------------------------- matching

interface SchemelessURL {
  host: string;
  path: string;
}

/** Splits `host[:port]/path` (no scheme) like Go's url.Parse("https://" + s); undefined when invalid. */
export function parseSchemelessURL(s: string): SchemelessURL | undefined {
  let rest = s;
  const cut = rest.search(/[?#]/);
  if (cut >= 0) rest = rest.slice(0, cut);
  const slash = rest.indexOf('/');
  let host = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash) : '';
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1); // userinfo
  if ([...host].some((ch) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) === 0x7f || ch === '%')) return undefined;
  // the port, if any, must be digits
  const portSep = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
  if (host.startsWith('[') && !host.includes(']')) return undefined;
  if (portSep >= 0 && !/^[0-9]*$/.test(host.slice(portSep + 1))) return undefined;
  return { host, path };
}

/** Go's net.SplitHostPort as keyring.go uses it: host name parts and port ('' when none). */
function splitURL(u: SchemelessURL): { parts: string[]; port: string } {
  const h = u.host;
  let host = h;
  let port = '';
  if (h.startsWith('[')) {
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(h);
    if (m) [host, port] = [m[1]!, m[2]!];
  } else {
    const colons = h.split(':').length - 1;
    if (colons === 1) {
      const i = h.indexOf(':');
      [host, port] = [h.slice(0, i), h.slice(i + 1)];
    }
  }
  return { parts: host.split('.'), port };
}

/**
 * Go's path/filepath.Match on one host part: `*` any run of characters, `?` one character, `[...]`
 * a class (`[^...]` negated, ranges, `\` escapes). undefined for a malformed pattern.
 */
export function globMatch(pattern: string, name: string): boolean | undefined {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) return undefined;
      re += escapeRe(pattern[++i]!);
    } else if (c === '[') {
      let j = i + 1;
      let cls = '';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      let n = 0;
      for (;;) {
        if (j >= pattern.length) return undefined;
        let ch = pattern[j]!;
        if (ch === ']' && n > 0) break;
        if (ch === '\\') {
          j++;
          if (j >= pattern.length) return undefined;
          ch = pattern[j]!;
        } else if (ch === '-' || ch === ']') {
          return undefined; // Go rejects an unescaped '-' or an empty class
        }
        cls += escapeRe(ch);
        j++;
        n++;
        if (pattern[j] === '-') {
          j++;
          if (j >= pattern.length) return undefined;
          let hi = pattern[j]!;
          if (hi === '\\') {
            j++;
            if (j >= pattern.length) return undefined;
            hi = pattern[j]!;
          } else if (hi === ']' || hi === '-') return undefined;
          if (hi < ch) return undefined;
          cls += `-${escapeRe(hi)}`;
          j++;
        }
      }
      re += `[${cls}]`;
      i = j;
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`, 's').test(name);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** keyring.go URLsMatchStr: does the credential location `glob` cover the image repository `target`? */
export function urlsMatch(glob: string, target: string): boolean {
  const g = parseSchemelessURL(glob);
  const t = parseSchemelessURL(target);
  if (!g || !t) return false;
  const gs = splitURL(g);
  const ts = splitURL(t);
  if (gs.port !== ts.port) return false;
  if (gs.parts.length !== ts.parts.length) return false;
  if (!t.path.startsWith(g.path)) return false;
  return gs.parts.every((p, i) => globMatch(p, ts.parts[i]!) === true);
}

/** keyring.go isDefaultRegistryMatch: will this repository be pulled from Docker Hub? */
export function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash >= 0 ? image.slice(0, slash) : image;
  if (first === '') return false;
  if (slash < 0) return true;
  if (first === 'docker.io' || first === 'index.docker.io') return true;
  return !/[.:]/.test(first);
}

const defaultRegistryHost = 'index.docker.io';

/** The key a config location is indexed under: scheme and /v1/, /v2/ dropped. undefined when invalid. */
export function keyringKey(loc: string): string | undefined {
  const value = /^https?:\/\//.test(loc) ? loc.replace(/^https?:\/\//, '') : loc;
  const parsed = parseSchemelessURL(value);
  if (!parsed) return undefined;
  let p = parsed.path;
  if (p.startsWith('/v2/') || p.startsWith('/v1/')) p = p.slice(3);
  return p.length > 0 && p !== '/' ? parsed.host + p : parsed.host;
}

/** keyring.go BasicDockerKeyring: credentials indexed by registry location, most specific first. */
export class DockerKeyring {
  private index: string[] = [];
  private readonly creds = new Map<string, AuthConfig[]>();

  constructor(configs: DockerConfig[] = []) {
    for (const c of configs) this.add(c);
  }

  add(cfg: DockerConfig): void {
    for (const [loc, ident] of Object.entries(cfg)) {
      const key = keyringKey(loc);
      if (key === undefined) continue; // upstream logs "Entry %q in dockercfg invalid" and ignores it
      const list = this.creds.get(key) ?? [];
      list.push({ username: ident.username, password: ident.password });
      this.creds.set(key, list);
      this.index.push(key);
    }
    this.index = [...new Set(this.index)].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  }

  /** Credentials for an image repository (e.g. `docker.io/library/busybox`), in the order to try them. */
  lookup(repo: string): AuthConfig[] {
    const out: AuthConfig[] = [];
    for (const k of this.index) if (urlsMatch(k, repo)) out.push(...this.creds.get(k)!);
    if (out.length > 0) return out;
    if (isDefaultRegistryMatch(repo)) return [...(this.creds.get(defaultRegistryHost) ?? [])];
    return [];
  }

  get size(): number {
    return this.index.length;
  }
}

/** UnionDockerKeyring.Lookup: every keyring's matches, in keyring order. */
export function lookupCredentials(image: string, keyrings: (DockerKeyring | undefined)[]): AuthConfig[] {
  const repo = repositoryOf(image);
  return keyrings.flatMap((k) => k?.lookup(repo) ?? []);
}

function decodeSecretValue(v: string): string {
  return Buffer.from(v, 'base64').toString('utf8');
}

/**
 * secrets.MakeDockerKeyring: the pod's docker-config secrets as one keyring (undefined when none
 * holds credentials). Throws on a secret whose JSON cannot be read, as upstream fails the pull.
 */
export function keyringFromSecrets(secrets: V1Secret[]): DockerKeyring | undefined {
  const configs: DockerConfig[] = [];
  for (const s of secrets) {
    const json = s.data?.[dockerConfigJsonKey];
    const cfg = s.data?.[dockerConfigKey];
    if (s.type === secretTypeDockerConfigJson && json) configs.push(parseDockerConfigJSON(decodeSecretValue(json)));
    else if (s.type === secretTypeDockercfg && cfg) configs.push(parseDockercfg(decodeSecretValue(cfg)));
  }
  return configs.length > 0 ? new DockerKeyring(configs) : undefined;
}

/** Names in pod.spec.imagePullSecrets that are not among `got` (empty names are ignored, as upstream). */
export function missingPullSecrets(pod: V1Pod, got: V1Secret[]): string[] {
  const have = new Set(got.map((s) => s.metadata?.name ?? ''));
  const missing: string[] = [];
  for (const ref of pod.spec?.imagePullSecrets ?? []) {
    if (!ref.name) continue;
    if (!have.has(ref.name)) missing.push(ref.name);
  }
  return missing;
}

/** The kubelet's FailedToRetrieveImagePullSecret event message. */
export function failedPullSecretsMessage(names: string[]): string {
  return `Unable to retrieve some image pull secrets (${names.join(', ')}); attempting to pull the image may not succeed.`;
}

// ---------------------------------------------------------------- the node's keyring

/**
 * Where the kubelet looks for the node's docker config (credentialprovider's search paths with the
 * kubelet root dir as preferred path): config.json files first, then legacy .dockercfg files.
 */
export function defaultNodeDockerConfigPaths(rootDir: string, home: string = homedir()): string[] {
  return [
    join(rootDir, 'config.json'),
    join(home, '.docker', 'config.json'),
    '/.docker/config.json',
    join(rootDir, '.dockercfg'),
    join(home, '.dockercfg'),
    '/.dockercfg',
  ].filter((p, i, all) => all.indexOf(p) === i);
}

/** Reads a docker config file: legacy format when it is named `.dockercfg`. */
export async function readDockerConfigFile(path: string): Promise<DockerConfig> {
  const text = await readFile(path, 'utf8');
  return basename(path) === '.dockercfg' ? parseDockercfg(text) : parseDockerConfigJSON(text);
}

/** The node-level keyring: the first readable file of `paths`, cached for `lifetimeMs`. */
export class NodeKeyring {
  private cached: { at: number; keyring: DockerKeyring } | undefined;

  constructor(
    private readonly paths: string[],
    private readonly clock: Clock,
    private readonly logger: Logger = nopLogger,
    private readonly lifetimeMs = 5 * 60_000,
  ) {}

  async keyring(): Promise<DockerKeyring> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < this.lifetimeMs) return this.cached.keyring;
    let keyring = new DockerKeyring();
    for (const p of this.paths) {
      try {
        keyring = new DockerKeyring([await readDockerConfigFile(p)]);
        this.logger.debug('Read the node docker config', { path: p, registries: keyring.size });
        break;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') this.logger.warn('Cannot read docker config, skipping it', { path: p, err: errorMessage(e) });
      }
    }
    this.cached = { at: now, keyring };
    return keyring;
  }
}
