// images: the image manager (pull policies, backoff, serialized/parallel pulls, QPS, pull secrets,
// events) and the image garbage collector.
export {
  ImagePuller,
  ImageError,
  imagePullDefaults,
  applyDefaultImageTag,
  effectivePullPolicy,
  shouldPullImage,
  type EnsuredImage,
  type ImageErrorReason,
  type ImagePullerOptions,
  type ImagePullSettings,
} from './puller.js';
export { newPullScheduler, type PullScheduler } from './pullers.js';
export { defaultNodeDockerConfigPaths, DockerKeyring, keyringFromSecrets, lookupCredentials } from './credentials.js';
export {
  ImageGCManager,
  amountToFree,
  imagesToFree,
  defaultImageGCPolicy,
  imageGCPeriodMs,
  validateImageGCPolicy,
  type ImageGCPolicy,
  type ImageRecord,
  type ImageGCResult,
  type ImageFsStats,
} from './imagegc.js';
