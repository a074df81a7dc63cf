// KubeletConfiguration (kubelet.config.k8s.io/v1beta1): the kubelet's config file format.
//
// Only the fields nodelet implements so far are typed; unknown fields are kept and reported
// (the kubelet's strict decoding warns about them). Defaults are upstream's.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, ValidationError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';

export interface KubeletConfiguration {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  /** CRI runtime endpoint, upstream default unix:///run/containerd/containerd.sock. */
  containerRuntimeEndpoint: string;
  /** CRI image endpoint; empty means the runtime endpoint. */
  imageServiceEndpoint: string;
  /** Deadline of runtime calls except long-running ones (pulls, logs, exec, attach). */
  runtimeRequestTimeout: string;
}

export const defaultRuntimeEndpoint = 'unix:///run/containerd/containerd.sock';

export function defaultKubeletConfiguration(): KubeletConfiguration {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    containerRuntimeEndpoint: defaultRuntimeEndpoint,
    imageServiceEndpoint: '',
    runtimeRequestTimeout: '2m0s',
  };
}

/** Applies defaults to a decoded config object and validates it. */
export function completeKubeletConfiguration(raw: Record<string, unknown>, source = 'KubeletConfiguration'): KubeletConfiguration {
  const cfg = { ...defaultKubeletConfiguration(), ...raw } as KubeletConfiguration;
  if (raw['apiVersion'] !== undefined && raw['apiVersion'] !== 'kubelet.config.k8s.io/v1beta1') {
    throw new ValidationError(source, 'apiVersion', `must be kubelet.config.k8s.io/v1beta1, got "${String(raw['apiVersion'])}"`);
  }
  if (raw['kind'] !== undefined && raw['kind'] !== 'KubeletConfiguration') {
    throw new ValidationError(source, 'kind', `must be KubeletConfiguration, got "${String(raw['kind'])}"`);
  }
  try {
    parseDuration(cfg.runtimeRequestTimeout);
  } catch (e) {
    throw new ValidationError(source, 'runtimeRequestTimeout', (e as Error).message);
  }
  if (typeof cfg.containerRuntimeEndpoint !== 'string' || cfg.containerRuntimeEndpoint === '') {
    throw new ValidationError(source, 'containerRuntimeEndpoint', 'must be a non-empty endpoint such as unix:///run/containerd/containerd.sock');
  }
  return cfg;
}

/** Reads a KubeletConfiguration YAML/JSON file. */
export function loadKubeletConfiguration(path: string): KubeletConfiguration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read kubelet config file ${path}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`kubelet config file ${path} is not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`kubelet config file ${path} must hold one KubeletConfiguration object`);
  }
  return completeKubeletConfiguration(raw as Record<string, unknown>, path);
}
