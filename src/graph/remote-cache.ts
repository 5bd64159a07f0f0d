/**
 * The remote tier of the action cache over Bazel's HTTP remote-cache protocol: `GET`/`PUT`/`HEAD`
 * on `<url>/ac/<action key>` (kiln's action entry as JSON: outputs' names, hashes, sizes, modes and
 * the step's log) and `<url>/cas/<sha256>` (the bytes of one output). Any server of that protocol
 * works: bazel-remote (with `--disable_http_ac_validation`: kiln's entries are JSON, not Bazel's
 * ActionResult protobuf), nginx with WebDAV `PUT`, object-store gateways.
 *
 * A remote that is down, slow or answers garbage never fails a build: every request has a bounded
 * timeout, the first transport failure disables the remote for the rest of the build with one
 * warning, and the build goes on locally. Downloads are streamed into the local store and verified
 * against their SHA-256 (and size) before anything uses them. The token comes from
 * `KILN_REMOTE_CACHE_TOKEN` and is sent only as a request header: never printed, never stored.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import type { RemoteCacheConfig } from '../config/types.js';
import { tempPathFor } from '../util/atomic.js';
import type { ActionEntry } from './cache.js';
import type { ActionKey, FileHash } from './hashing.js';

/** Where the remote cache is and how to talk to it, resolved from flags, environment and config. */
export interface RemoteCacheSettings {
  /** The base URL without credentials and without a trailing slash. */
  readonly url: string;
  readonly readOnly: boolean;
  /** Share steps marked `localOnly` too (`remoteCache.sharePathDependent`). */
  readonly sharePathDependent: boolean;
  /** Every request's headers (the token's Authorization included: never print these). */
  readonly headers: Readonly<Record<string, string>>;
  /** Timeout of a small request (an entry, a HEAD), in ms. */
  readonly requestTimeoutMs: number;
}

/** What the command line says (`--remote-cache URL`, `--remote-cache-read-only`). */
export interface RemoteCacheFlags {
  url?: string;
  readOnly?: boolean;
}

/** The environment variable holding the remote cache's token (sent as `Authorization: Bearer`). */
export const REMOTE_TOKEN_ENV = 'KILN_REMOTE_CACHE_TOKEN';
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** A blob transfer may take this long plus its size at 4 MiB/s. */
const BLOB_TIMEOUT_MS = 10_000;
const BLOB_BYTES_PER_MS = (4 * 1024 * 1024) / 1000;

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/**
 * The remote cache to use, or undefined for none: `--remote-cache` over `KILN_REMOTE_CACHE` over
 * the config's `remoteCache.url`; read-only when any of `--remote-cache-read-only`,
 * `KILN_REMOTE_CACHE_READ_ONLY=1` or `remoteCache.readOnly` says so.
 * @example resolveRemoteCache({ url: 'http://127.0.0.1:9090' }, {}, process.env)
 */
export function resolveRemoteCache(
  config: RemoteCacheConfig | undefined,
  flags: RemoteCacheFlags,
  env: NodeJS.ProcessEnv,
): RemoteCacheSettings | undefined {
  const fromEnv = env.KILN_REMOTE_CACHE?.trim() || undefined;
  const raw = flags.url ?? fromEnv ?? config?.url;
  if (raw === undefined || raw === '' || raw === 'off') return undefined;
  const where =
    flags.url !== undefined ? '--remote-cache' : fromEnv !== undefined ? 'KILN_REMOTE_CACHE' : 'remoteCache.url';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KilnError(
      'REMOTE_CACHE_URL_INVALID',
      `${where}: expected an http:// or https:// URL, got ${JSON.stringify(redactUrl(raw))}`,
      {
        ...(where === 'remoteCache.url' ? { location: { configPath: where } } : {}),
        hint: 'e.g. --remote-cache http://cache.internal:8080/kiln (the token goes in KILN_REMOTE_CACHE_TOKEN)',
        exitCode: 2,
      },
    );
  }
  const headers: Record<string, string> = { ...(config?.headers ?? {}) };
  // Credentials in the URL become a header: they never appear in a message or a request line.
  if (url.username || url.password) {
    const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const token = env[REMOTE_TOKEN_ENV];
  if (token) headers.authorization = `Bearer ${token}`;
  const readOnly = flags.readOnly === true || truthy(env.KILN_REMOTE_CACHE_READ_ONLY) || config?.readOnly === true;
  const sharePathDependent = config?.sharePathDependent === true;
  const base = url.href.replace(/\/+$/, '');
  return { url: base, readOnly, sharePathDependent, headers, requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS };
}

/** A URL with any `user:password@` removed (for messages). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^/@\s]*@/i, '$1');
}

/** A request that failed in a way that says the remote cannot be used (down, slow, refusing, garbage). */
export class RemoteUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'RemoteUnavailable';
  }
}

/** What became of one blob download. */
export type BlobFetch = 'fetched' | 'missing' | 'corrupt';

function describeFailure(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

/** The HTTP client of the protocol: one method per request kind; transport failures throw RemoteUnavailable. */
export class HttpCacheClient {
  private readonly stopper = new AbortController();

  constructor(readonly settings: RemoteCacheSettings) {}

  /** Ends every request in flight (the wait for uploads at exit ran out). */
  abort(): void {
    this.stopper.abort();
  }

  private async request(path: string, init: RequestInit & { duplex?: 'half' }, timeoutMs: number): Promise<Response> {
    try {
      return await fetch(`${this.settings.url}${path}`, {
        ...init,
        headers: { ...this.settings.headers, ...(init.headers as Record<string, string> | undefined) },
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopper.signal]),
        redirect: 'error',
      });
    } catch (error) {
      throw new RemoteUnavailable(describeFailure(error));
    }
  }

  /** Turns an unexpected status into RemoteUnavailable (404 is handled by the callers). */
  private static check(res: Response, what: string): void {
    if (res.ok) return;
    const auth = res.status === 401 || res.status === 403 ? ` (check ${REMOTE_TOKEN_ENV})` : '';
    throw new RemoteUnavailable(`${what}: HTTP ${res.status}${auth}`);
  }

  /** The entry stored under `key`, undefined when the server has none; garbage is RemoteUnavailable. */
  async getEntry(key: ActionKey): Promise<RemoteEntry | undefined> {
    const res = await this.request(`/ac/${key}`, { method: 'GET' }, this.settings.requestTimeoutMs);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    HttpCacheClient.check(res, 'GET /ac');
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      throw new RemoteUnavailable(`GET /ac: ${describeFailure(error)}`);
    }
    const entry = parseEntry(text);
    if (!entry) throw new RemoteUnavailable(`GET /ac/${key.slice(0, 12)}…: not a kiln action entry`);
    return entry;
  }

  /** Whether the server holds blob `hash` (HEAD). */
  async hasBlob(hash: FileHash): Promise<boolean> {
    const res = await this.request(`/cas/${hash}`, { method: 'HEAD' }, this.settings.requestTimeoutMs);
    if (res.status === 404) return false;
    HttpCacheClient.check(res, 'HEAD /cas');
    return true;
  }

  /**
   * Streams blob `hash` into `dest` (written atomically) when its bytes hash to `hash` and number
   * `size`; a blob that does not is reported corrupt and nothing is written.
   */
  async fetchBlob(hash: FileHash, size: number, dest: string): Promise<BlobFetch> {
    const res = await this.request(`/cas/${hash}`, { method: 'GET' }, blobTimeout(size));
    if (res.status === 404) {
      await res.body?.cancel();
      return 'missing';
    }
    HttpCacheClient.check(res, 'GET /cas');
    await mkdir(dirname(dest), { recursive: true });
    const temp = tempPathFor(dest);
    const digest = createHash('sha256');
    let received = 0;
    const file = await open(temp, 'w');
    try {
      for await (const chunk of res.body ?? []) {
        received += chunk.byteLength;
        if (received > size) break;
        digest.update(chunk);
        await file.write(chunk);
      }
    } catch (error) {
      await file.close();
      await rm(temp, { force: true });
      throw new RemoteUnavailable(`GET /cas: ${describeFailure(error)}`);
    }
    await file.close();
    if (received !== size || digest.digest('hex') !== hash) {
      await rm(temp, { force: true });
      return 'corrupt';
    }
    await rename(temp, dest);
    return 'fetched';
  }

  /** Uploads the file at `path` as blob `hash`. */
  async putBlob(hash: FileHash, path: string, size: number): Promise<void> {
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    const res = await this.request(
      `/cas/${hash}`,
      {
        method: 'PUT',
        body,
        duplex: 'half',
        headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' },
      },
      blobTimeout(size),
    );
    await res.body?.cancel();
    HttpCacheClient.check(res, 'PUT /cas');
  }

  /** Uploads the entry of `key` (after its blobs). */
  async putEntry(key: ActionKey, entry: RemoteEntry): Promise<void> {
    const res = await this.request(
      `/ac/${key}`,
      {
        method: 'PUT',
        body: JSON.stringify(entry),
        headers: { 'content-type': 'application/json' },
      },
      this.settings.requestTimeoutMs,
    );
    await res.body?.cancel();
    HttpCacheClient.check(res, 'PUT /ac');
  }
}

/** An entry as stored remotely: the local entry plus the tail of the step's log. */
export interface RemoteEntry extends ActionEntry {
  log?: string;
}

/** An entry's discovered inputs: undefined when it has none, null when they are malformed. */
function parseReads(reads: unknown, digest: unknown): string[] | undefined | null {
  if (reads === undefined && digest === undefined) return undefined;
  if (!Array.isArray(reads) || typeof digest !== 'string' || !HASH.test(digest)) return null;
  // deps-log names: project-relative or `$build/...`, never absolute, never climbing out.
  const ok = reads.every(
    (r) => typeof r === 'string' && r !== '' && !r.startsWith('/') && !r.split('/').includes('..'),
  );
  return ok ? (reads as string[]) : null;
}

function blobTimeout(size: number): number {
  return BLOB_TIMEOUT_MS + Math.ceil(size / BLOB_BYTES_PER_MS);
}

const HASH = /^[0-9a-f]{64}$/;

/** A remote entry checked field by field (a server may hold anything under /ac). */
export function parseEntry(text: string): RemoteEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { outputs, createdAt, log, reads, readsDigest } = value as Record<string, unknown>;
  if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)) return undefined;
  const checked: ActionEntry['outputs'] = {};
  for (const [rel, o] of Object.entries(outputs)) {
    if (rel.startsWith('/') || rel.split('/').includes('..')) return undefined;
    const { hash, size, mode } = (o ?? {}) as Record<string, unknown>;
    if (typeof hash !== 'string' || !HASH.test(hash)) return undefined;
    if (!Number.isSafeInteger(size) || (size as number) < 0) return undefined;
    if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o777) return undefined;
    checked[rel] = { hash: hash as FileHash, size: size as number, mode: mode as number };
  }
  const readList = parseReads(reads, readsDigest);
  if (readList === null) return undefined;
  return {
    outputs: checked,
    createdAt: typeof createdAt === 'number' ? createdAt : 0,
    ...(readList ? { reads: readList, readsDigest: readsDigest as string } : {}),
    ...(typeof log === 'string' ? { log } : {}),
  };
}
