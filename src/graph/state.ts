/**
 * What a build remembers for the next one: the stat index and each step's record
 * (`.kiln/state.json`), written atomically; an unreadable state starts fresh. (The last build's
 * results for `kiln status` are report/last-build.ts.)
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import type { Fingerprint } from './fingerprint.js';
import { type ActionKey, type StatEntry, StatIndex } from './hashing.js';

/** A step's last successful run. */
export interface StepRecord {
  key: ActionKey;
  /** Each output's stat and hash as kiln left it: the up-to-date check is stat calls only. */
  outputs: Record<string, StatEntry>;
  /**
   * What the key was made of, to explain the next rerun. Its `reads` are the discovered inputs of
   * this run (depfile, dep-info), path → hash: they become part of the next fingerprint (as ninja's
   * deps log), and the key above already includes them.
   */
  fingerprint: Fingerprint;
}

interface StateFile {
  version: typeof STATE_VERSION;
  files: Record<string, StatEntry>;
  steps: Record<string, StepRecord>;
}

/** 3: fingerprints carry discovered inputs (`reads`); 2: typed fingerprints with full hashes. */
const STATE_VERSION = 3;

function readState(path: string): StateFile {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
    if (s.version === STATE_VERSION && s.files && s.steps) return s;
  } catch {
    /* first build, or an unreadable state: start fresh */
  }
  return { version: STATE_VERSION, files: {}, steps: {} };
}

export class BuildState {
  readonly index: StatIndex;
  private readonly file: StateFile;

  private constructor(
    private readonly path: string,
    file: StateFile,
  ) {
    this.file = file;
    this.index = new StatIndex(file.files);
  }

  static load(path: string): BuildState {
    return new BuildState(path, readState(path));
  }

  record(step: string): StepRecord | undefined {
    return this.file.steps[step];
  }

  setRecord(step: string, record: StepRecord): void {
    this.file.steps[step] = record;
  }

  forget(step: string): void {
    delete this.file.steps[step];
  }

  /** Writes the state if `stepsChanged` or the stat index changed (a no-op build writes nothing). */
  save(stepsChanged: boolean): void {
    if (!stepsChanged && !this.index.dirty) return;
    this.file.files = this.index.toJSON();
    writeFileAtomic(this.path, JSON.stringify(this.file));
  }
}
