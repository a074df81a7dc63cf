// lifecycle: container lifecycle hooks (postStart, preStop).
export { runHandler, HookError, type HookContext } from './handlers.js';
