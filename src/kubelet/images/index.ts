// images: the image manager (pull policies, backoff, events).
export { ImagePuller, ImageError, type EnsuredImage, type ImageErrorReason } from './puller.js';
