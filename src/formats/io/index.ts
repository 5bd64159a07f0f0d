export * from './bytes.js';
export * from './crc32.js';
export * from './guid.js';
export * from './content.js';
export * from './block-writer.js';
export * from './block-source.js';
export * from './tree.js';
export * from './zero-map.js';
