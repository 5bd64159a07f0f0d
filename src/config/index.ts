export * from './types.js';
export * from './options.js';
export { loadConfig, findConfig, type LoadedConfig } from './load.js';
