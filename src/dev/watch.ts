/**
 * kiln dev's watcher: one non-recursive `fs.watch` per folder that holds a tracked file (or that a
 * glob may match). A folder watch sees an editor's save whatever way it saves (in place, a
 * temporary file renamed over, vim's backup-and-new-file), where a watch on the file itself (and
 * Node 20's recursive fs.watch, which watches files) follows the old inode and goes deaf. Events
 * only say "look again": what changed is decided by stat calls (tracked.ts), so a lost or
 * misnamed event costs nothing but the event. Measured against chokidar 4 in bench/watch.bench.mjs.
 */
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';

export class FolderWatcher {
  private readonly watchers = new Map<string, FSWatcher>();

  /** `onEvent` gets the absolute path an event named (the folder itself when it named none). */
  constructor(private readonly onEvent: (path: string) => void) {}

  /** Watches exactly `folders` from now on (adds the new ones, closes the others). */
  set(folders: ReadonlySet<string>): void {
    for (const [folder, w] of this.watchers) {
      if (folders.has(folder)) continue;
      w.close();
      this.watchers.delete(folder);
    }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      try {
        const w = watch(folder, (_type, name) => this.onEvent(name ? join(folder, name.toString()) : folder));
        // A watched folder removed (or unreadable): forget it; the next re-check watches what exists.
        w.on('error', () => {
          w.close();
          this.watchers.delete(folder);
        });
        this.watchers.set(folder, w);
      } catch {
        /* the folder does not exist (yet): a tracked file in it is reported missing by the stat check */
      }
    }
  }

  /** How many folders are watched. */
  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
