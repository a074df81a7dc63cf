// Watch streams of the test API server (models apiserver pkg/storage/cacher/cacher.go and
// cache_watcher.go: events after the requested resourceVersion, the initial state as ADDED for
// resourceVersion "0"/unset, an object leaving the selector seen as DELETED with its previous
// state, BOOKMARK events when allowWatchBookmarks=true, "too old resource version" as an ERROR
// event with a 410 Expired Status, and pkg/endpoints/handlers/watch.go framing: one JSON
// watch event per line over a chunked 200 response, ended after timeoutSeconds).
//
// Differences: bookmarks come every `bookmarkIntervalMs` (upstream: about once a minute, and
// just before the timeout); the bookmark carries the global resourceVersion.

import type { ServerResponse } from 'node:http';
import { matchFields, matchLabels, type FieldRequirement, type LabelRequirement } from './selectors.js';
import { apiVersionOf, errors, type KObject, type ResourceInfo, type Store, type StoreEvent } from './store.js';

export interface WatchRequest {
  resource: ResourceInfo;
  /** Only this namespace ('' = all). */
  namespace: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  timeoutMs: number;
  bookmarkIntervalMs: number;
}

export interface WatchHandle {
  close(): void;
}

function matches(w: WatchRequest, o: KObject | undefined): boolean {
  if (!o) return false;
  if (w.namespace && o.metadata?.namespace !== w.namespace) return false;
  return matchLabels(w.labels, o.metadata?.labels) && matchFields(w.fields, o);
}

/** What a watcher with these selectors sees of a store event (upstream convertToWatchEvent). */
export function toWatchEvent(w: WatchRequest, e: StoreEvent): { type: string; object: KObject } | undefined {
  if (e.resource !== w.resource) return undefined;
  const cur = e.type === 'DELETED' ? undefined : e.object;
  const curOk = matches(w, cur);
  const prevOk = matches(w, e.prev);
  if (e.type === 'DELETED') return prevOk ? { type: 'DELETED', object: e.object } : undefined;
  if (curOk && prevOk) return { type: 'MODIFIED', object: e.object };
  if (curOk) return { type: 'ADDED', object: e.object };
  if (prevOk) {
    const old = structuredClone(e.prev!);
    old.metadata!.resourceVersion = String(e.rv);
    return { type: 'DELETED', object: old };
  }
  return undefined;
}

/** Serves a watch on `res` until the client goes, the timeout passes or close() is called. */
export function serveWatch(store: Store, w: WatchRequest, res: ServerResponse, onEnd: () => void): WatchHandle {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  let ended = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: () => void = () => undefined;
  const send = (type: string, object: unknown): void => {
    if (!ended) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const end = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    res.end();
    onEnd();
  };
  res.on('close', end);

  const rvParam = w.resourceVersion;
  if (rvParam && rvParam !== '0') {
    const rv = Number(rvParam);
    if (!Number.isInteger(rv) || rv < 0) {
      send('ERROR', errors.badRequest(`invalid resource version: ${rvParam}`).toStatus());
      end();
      return { close: end };
    }
    const past = store.eventsSince(rv);
    if (!past) {
      send('ERROR', errors.gone(`too old resource version: ${rv} (${store.oldestWatchableRv + 1})`).toStatus());
      end();
      return { close: end };
    }
    for (const e of past) {
      const ev = toWatchEvent(w, e);
      if (ev) send(ev.type, ev.object);
    }
  } else {
    for (const o of store.list(w.resource, w.namespace || undefined)) if (matches(w, o)) send('ADDED', o);
  }
  unsubscribe = store.subscribe((e) => {
    const ev = toWatchEvent(w, e);
    if (ev) send(ev.type, ev.object);
  });
  if (w.allowBookmarks && w.bookmarkIntervalMs > 0) {
    timers.push(setInterval(() => {
      send('BOOKMARK', { kind: w.resource.kind, apiVersion: apiVersionOf(w.resource), metadata: { resourceVersion: store.resourceVersion } });
    }, w.bookmarkIntervalMs));
  }
  if (w.timeoutMs > 0) timers.push(setTimeout(end, w.timeoutMs));
  return { close: end };
}
