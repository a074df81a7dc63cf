// kubelet/config: where pods come from (pkg/kubelet/config): static pod manifests from a
// directory or a URL, defaulted like upstream's static pods, merged with other sources into one
// stream of typed PodUpdates.
export { PodConfig, type PodUpdate, type PodOperation, type PodConfigOptions } from './config.js';
export { FileSource, type FileSourceOptions, type WatchFn, type Watcher } from './file.js';
export { HttpSource, maxManifestBytes, type HttpSourceOptions, type FetchFn, type FetchResponse } from './http.js';
export { parseManifests, type ParsedManifests, type ParseOptions } from './manifest.js';
export { applyStaticPodDefaults, decodeStaticPods, staticPodName, staticPodUID, type StaticPodSource, type StaticPodResult } from './static.js';
export { ApiserverSource, nodePodListWatcher, decodePod, type PodListWatcher, type ApiserverSourceOptions } from './apiserver.js';
