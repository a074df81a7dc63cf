// volumes: pod volumes and kubelet-managed pod files (see volumes.ts), the AtomicWriter
// (atomicwriter.ts) and the payloads of the API-backed volumes (projected.ts).
export * from './volumes.js';
export { writeAtomic, validatePayloadPath, timestampDirPrefix, dataDirName, AtomicWriteError, type FileProjection } from './atomicwriter.js';
export {
  collectVolumePayload,
  configMapPayload,
  secretPayload,
  downwardAPIPayload,
  projectedTokenRequest,
  pluginDirName,
  PayloadError,
  defaultVolumeMode,
  defaultTokenExpirationSeconds,
  type VolumeObjectSources,
} from './projected.js';
