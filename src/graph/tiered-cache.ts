/**
 * The local cache in front of a remote one (graph/remote-cache.ts). A lookup asks the local tier,
 * then the remote: a remote entry's blobs are downloaded in parallel into the local store, each
 * verified, before the entry is recorded locally and returned, so a restore always reads a local,
 * verified object. A store writes locally at once and queues the upload: blobs first (a HEAD skips
 * those the server has), the entry last, so the server never names a blob it lacks. Uploads run
 * beside the build (a few at a time) and `finish` waits for them, bounded.
 *
 * Steps whose outputs depend on the checkout's folder (`share: false`) are never uploaded and never
 * looked up remotely. The first transport failure disables the remote for the rest of the build
 * with one warning; a corrupt blob only costs its step a rebuild (and is uploaded again after it).
 */
import { existsSync } from 'node:fs';
import type { ActionEntry, CacheTier, LocalCache, RestoreResult, ShareOptions } from './cache.js';
import type { ActionKey, FileHash } from './hashing.js';
import { type HttpCacheClient, type RemoteEntry, RemoteUnavailable, redactUrl } from './remote-cache.js';

/** What the remote tier did in one build (printed at the end: "12 uploaded"). */
export interface RemoteReport {
  /** The remote was asked anything, or given anything (a no-op build leaves it alone). */
  consulted: boolean;
  /** Entries found remotely and restored (their blobs downloaded or already local). */
  hits: number;
  downloadedBytes: number;
  /** Entries uploaded (with their blobs). */
  uploaded: number;
  uploadedBytes: number;
  /** Uploads dropped: the remote went away, or the wait at exit ran out. */
  notSent: number;
  /** Why the remote was disabled, when it was. */
  disabled?: string;
  /**
   * It was disabled before anything was restored, uploaded or queued for upload: its warning said
   * everything (results not sent after it are still counted in `notSent`).
   */
  disabledIdle?: boolean;
}

/** How many uploads run at once. */
const UPLOAD_CONCURRENCY = 4;
/** The longest the end of a build waits for pending uploads (each request has its own timeout too). */
export const UPLOAD_WAIT_MS = 60_000;
/** The largest tail of a step's log kept in a shared entry. */
const LOG_TAIL_BYTES = 64 * 1024;

export class TieredCache implements CacheTier {
  private disabled: string | undefined;
  private readonly report: RemoteReport = {
    consulted: false,
    hits: 0,
    downloadedBytes: 0,
    uploaded: 0,
    uploadedBytes: 0,
    notSent: 0,
  };
  private readonly waiting: Array<() => Promise<void>> = [];
  private readonly running = new Set<Promise<void>>();
  /** Blobs uploaded (or found on the server) this build, or on their way. */
  private readonly blobs = new Map<FileHash, Promise<void>>();
  /** Blobs the server answered with wrong bytes: uploaded again without asking. */
  private readonly corrupt = new Set<FileHash>();
  private idle: (() => void) | undefined;

  constructor(
    readonly local: LocalCache,
    private readonly client: HttpCacheClient,
    private readonly warn: (message: string) => void,
  ) {}

  /** Whether a step's results travel: shareable ones, and path-dependent ones when the config says so. */
  private shares(options: ShareOptions): boolean {
    return options.share !== false || this.client.settings.sharePathDependent;
  }

  get readOnly(): boolean {
    return this.client.settings.readOnly;
  }

  async lookup(key: ActionKey, options: ShareOptions = {}): Promise<ActionEntry | undefined> {
    const found = await this.local.lookup(key);
    if (found || !this.shares(options) || this.disabled) return found;
    this.report.consulted = true;
    try {
      const entry = await this.client.getEntry(key);
      if (!entry || !(await this.download(entry))) return undefined;
      const { log, ...local } = entry;
      this.local.writeEntry(key, local);
      this.report.hits++;
      return log === undefined ? local : { ...local, log };
    } catch (error) {
      if (!(error instanceof RemoteUnavailable)) throw error;
      this.disable(error.reason);
      return undefined;
    }
  }

  /** Downloads every blob of `entry` missing locally; false when one is missing or corrupt remotely. */
  private async download(entry: ActionEntry): Promise<boolean> {
    const outputs = Object.values(entry.outputs);
    const results = await Promise.all(
      outputs.map(async ({ hash, size }) => {
        const path = this.local.objectPath(hash);
        if (existsSync(path)) return true; // verified when restored
        const got = await this.client.fetchBlob(hash, size, path);
        if (got === 'fetched') this.report.downloadedBytes += size;
        if (got === 'corrupt') {
          this.corrupt.add(hash);
          this.warn(
            `remote cache object ${hash.slice(0, 16)}… did not match its hash: not used (rebuilt, and uploaded again)`,
          );
        }
        return got === 'fetched';
      }),
    );
    return results.every(Boolean);
  }

  restore(hash: FileHash, to: string, mode: number): Promise<RestoreResult> {
    return this.local.restore(hash, to, mode);
  }

  async store(
    key: ActionKey,
    entry: ActionEntry,
    files: Readonly<Record<string, string>>,
    options: ShareOptions = {},
  ): Promise<void> {
    await this.local.store(key, entry, files);
    if (!this.shares(options) || this.readOnly) return;
    if (this.disabled) {
      this.report.notSent++; // the remote went away before this step's result could go
      return;
    }
    this.report.consulted = true;
    const log = options.log ? options.log.slice(-LOG_TAIL_BYTES) : undefined;
    const remote: RemoteEntry = { ...entry, ...(log ? { log } : {}) };
    this.waiting.push(() => this.upload(key, remote));
    this.pump();
  }

  private pump(): void {
    while (this.running.size < UPLOAD_CONCURRENCY && this.waiting.length) {
      const job = this.waiting.shift()!;
      const p: Promise<void> = job().finally(() => {
        this.running.delete(p);
        this.pump();
      });
      this.running.add(p);
    }
    if (this.running.size === 0 && this.waiting.length === 0) this.idle?.();
  }

  private async upload(key: ActionKey, entry: RemoteEntry): Promise<void> {
    if (this.disabled) {
      this.report.notSent++;
      return;
    }
    try {
      let bytes = 0;
      for (const { hash, size } of Object.values(entry.outputs)) {
        let sent = this.blobs.get(hash);
        if (!sent) {
          sent = this.uploadBlob(hash, size).then((n) => void (bytes += n));
          this.blobs.set(hash, sent);
        }
        await sent;
      }
      await this.client.putEntry(key, entry);
      this.report.uploaded++;
      this.report.uploadedBytes += bytes;
    } catch (error) {
      this.report.notSent++;
      if (!(error instanceof RemoteUnavailable)) throw error;
      this.disable(error.reason);
    }
  }

  /** Uploads one blob unless the server has it; the bytes sent. */
  private async uploadBlob(hash: FileHash, size: number): Promise<number> {
    if (!this.corrupt.has(hash) && (await this.client.hasBlob(hash))) return 0;
    await this.client.putBlob(hash, this.local.objectPath(hash), size);
    return size;
  }

  private disable(reason: string): void {
    if (this.disabled) return;
    this.disabled = reason;
    this.report.disabled = reason;
    const moved = this.report.hits + this.report.uploaded + this.running.size + this.waiting.length;
    if (moved === 0) this.report.disabledIdle = true;
    const what = this.readOnly ? 'reading only' : 'no further uploads';
    this.warn(
      `remote cache ${redactUrl(this.client.settings.url)} unavailable (${reason}): building locally, ${what} this build`,
    );
  }

  /** Waits for the uploads still queued or running, at most `limitMs`; then what the remote did. */
  async finish(limitMs = UPLOAD_WAIT_MS): Promise<RemoteReport> {
    if (this.running.size || this.waiting.length) {
      const drained = new Promise<void>((resolve) => (this.idle = resolve));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), limitMs)));
      const outcome = await Promise.race([drained, late]);
      clearTimeout(timer);
      if (outcome === 'late') {
        this.report.notSent += this.waiting.length + this.running.size;
        this.waiting.length = 0;
        this.disabled ??= 'the wait for uploads ran out';
        this.client.abort();
      }
    }
    return { ...this.report };
  }
}
