// Types of bench/_nginx.mjs (used by test/graph/remote-cache.test.ts).
export declare const NGINX: string;

export interface CacheServer {
  readonly url: string;
  /** The served folder: `ac/<key>` and `cas/<sha256>` land here. */
  readonly root: string;
  /** Lines `METHOD /path STATUS auth=<Authorization>`. */
  accessLog(): string;
  stop(): Promise<void>;
}

/** A free loopback port (the listener is closed before nginx binds it). */
export declare function freePort(): Promise<number>;
/** Starts nginx serving `<dir>/store` on a free loopback port. */
export declare function startNginx(dir: string): Promise<CacheServer>;
