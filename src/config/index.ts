// config: KubeletConfiguration v1beta1 + flags -> one validated, defaulted config object.
export * from './kubeletconfig.js';
