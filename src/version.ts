// nodelet's version, and the Kubernetes version whose kubelet behaviour it follows.
export const version = '0.1.0';
export const kubeletCompatVersion = 'v1.30.0';
