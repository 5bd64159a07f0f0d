/**
 * What a build remembers for the next one (`.kiln/state.json`): the stat index and each step's
 * record, lean enough that a no-op build reads it with one call and little garbage. Each step's full
 * fingerprint, needed only to explain a rerun, is kept apart (`.kiln/fingerprints.json`) and read
 * on the first explanation. Both are written atomically. (The last build's results for
 * `kiln status` are report/last-build.ts.)
 *
 * A state file kiln cannot use is never fatal and never trusted: a corrupt or unknown one is set
 * aside with one warning (the build checks every step again, restoring from the cache what it
 * can); the previous format (3, fingerprints inline) is migrated.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { type Fingerprint, actionKey } from './fingerprint.js';
import { type ActionKey, type StatEntry, StatIndex } from './hashing.js';

/** A step's last successful run. */
export interface StepRecord {
  key: ActionKey;
  /** Each output's stat and hash as kiln left it: the up-to-date check is stat calls only. */
  outputs: Record<string, StatEntry>;
  /**
   * The discovered inputs of this run (depfile, dep-info; deps-log.ts names): fingerprinted with
   * their content hashes on the next build (as ninja's deps log); the key above includes them.
   */
  reads?: string[];
}

interface StateFile {
  version: typeof STATE_VERSION;
  files: Record<string, StatEntry>;
  steps: Record<string, StepRecord>;
}

/** Version 3: each record held its fingerprint inline (migrated on load). */
interface StateFileV3 {
  version: 3;
  files: Record<string, StatEntry>;
  steps: Record<string, { key: ActionKey; outputs: Record<string, StatEntry>; fingerprint: Fingerprint }>;
}

interface FingerprintFile {
  version: typeof FINGERPRINTS_VERSION;
  steps: Record<string, Fingerprint>;
}

/**
 * 4: fingerprints apart, discovered inputs as `reads`; 3: fingerprints inline with their `reads`;
 * 2: typed fingerprints with full hashes.
 */
const STATE_VERSION = 4;
const FINGERPRINTS_VERSION = 1;

type Loaded = { file: StateFile; fingerprints?: Map<string, Fingerprint>; problem?: string; migrated?: true };

function emptyState(): StateFile {
  return { version: STATE_VERSION, files: {}, steps: {} };
}

function readState(path: string): Loaded {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { file: emptyState() }; // the first build
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { file: emptyState(), problem: `${path} is corrupt (${(error as Error).message})` };
  }
  const version = isObject(parsed) ? parsed.version : undefined;
  if (isObject(parsed) && validShape(parsed)) {
    if (version === STATE_VERSION) return { file: parsed as unknown as StateFile };
    if (version === 3) return migrateV3(parsed as unknown as StateFileV3);
  }
  const what =
    version === STATE_VERSION || version === 3
      ? 'is corrupt (unexpected shape)'
      : typeof version === 'number'
        ? `was written by another kiln (version ${version}, not ${STATE_VERSION})`
        : 'is not a kiln state file';
  return { file: emptyState(), problem: `${path} ${what}` };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function validShape(value: Record<string, unknown>): boolean {
  if (!isObject(value.files) || !isObject(value.steps)) return false;
  for (const name in value.steps) {
    const record = value.steps[name];
    if (!isObject(record) || typeof record.key !== 'string' || !isObject(record.outputs)) return false;
  }
  return true;
}

function migrateV3(old: StateFileV3): Loaded {
  const file = emptyState();
  file.files = old.files;
  const fingerprints = new Map<string, Fingerprint>();
  for (const [name, record] of Object.entries(old.steps)) {
    const reads = Object.keys(record.fingerprint?.reads ?? {});
    file.steps[name] = { key: record.key, outputs: record.outputs, ...(reads.length ? { reads } : {}) };
    if (record.fingerprint) fingerprints.set(name, record.fingerprint);
  }
  return { file, fingerprints, migrated: true };
}

/** Where the fingerprints of the steps recorded in `stateFile` are kept. */
export function fingerprintsPathOf(stateFile: string): string {
  return join(dirname(stateFile), 'fingerprints.json');
}

export class BuildState {
  readonly index: StatIndex;
  private readonly file: StateFile;
  /** Fingerprints by step: loaded on first use; set as steps run. */
  private fingerprints: Map<string, Fingerprint> | undefined;
  private fingerprintsChanged = false;
  private unreported: string | undefined;
  private migrated: boolean;

  private constructor(
    private readonly path: string,
    loaded: Loaded,
  ) {
    this.file = loaded.file;
    this.index = new StatIndex(loaded.file.files);
    this.fingerprints = loaded.fingerprints;
    this.unreported = loaded.problem;
    this.migrated = loaded.migrated ?? false;
  }

  static load(path: string): BuildState {
    return new BuildState(path, readState(path));
  }

  /** Why the state on disk was set aside (the build checks every step again), until it is reported. */
  get problem(): string | undefined {
    return this.unreported;
  }

  /** The problem, to report it: once, then undefined. */
  takeProblem(): string | undefined {
    const problem = this.unreported;
    this.unreported = undefined;
    return problem;
  }

  record(step: string): StepRecord | undefined {
    return this.file.steps[step];
  }

  /**
   * The fingerprint `record` (this step's record) was made from, to explain a rerun; undefined when
   * it is not known (no record, or the fingerprint file is missing or from another build).
   */
  fingerprint(step: string, record: StepRecord | undefined): Fingerprint | undefined {
    if (!record) return undefined;
    const fingerprint = this.loadedFingerprints().get(step);
    return fingerprint && actionKey(fingerprint) === record.key ? fingerprint : undefined;
  }

  /** Records a step's run: its record and the fingerprint its key is the hash of. */
  setRecord(step: string, record: StepRecord, fingerprint: Fingerprint): void {
    this.file.steps[step] = record;
    this.loadedFingerprints().set(step, fingerprint);
    this.fingerprintsChanged = true;
  }

  forget(step: string): void {
    delete this.file.steps[step];
    if (this.loadedFingerprints().delete(step)) this.fingerprintsChanged = true;
  }

  /** Writes the state if `stepsChanged` or the stat index changed (a no-op build writes nothing). */
  save(stepsChanged: boolean): void {
    if (!stepsChanged && !this.index.dirty && !this.migrated && !this.fingerprintsChanged) return;
    this.file.files = this.index.toJSON();
    // The fingerprints first: a state whose fingerprints are older only loses explanations.
    if (this.fingerprintsChanged || this.migrated) {
      const steps: Record<string, Fingerprint> = {};
      for (const [name, fingerprint] of this.loadedFingerprints()) if (this.file.steps[name]) steps[name] = fingerprint;
      const file: FingerprintFile = { version: FINGERPRINTS_VERSION, steps };
      writeFileAtomic(fingerprintsPathOf(this.path), JSON.stringify(file));
      this.fingerprintsChanged = false;
    }
    writeFileAtomic(this.path, JSON.stringify(this.file));
    this.migrated = false;
  }

  private loadedFingerprints(): Map<string, Fingerprint> {
    if (!this.fingerprints) this.fingerprints = readFingerprints(fingerprintsPathOf(this.path));
    return this.fingerprints;
  }
}

function readFingerprints(path: string): Map<string, Fingerprint> {
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as FingerprintFile;
    if (file.version === FINGERPRINTS_VERSION && isObject(file.steps)) return new Map(Object.entries(file.steps));
  } catch {
    /* missing or unreadable: reruns are explained without the earlier fingerprint */
  }
  return new Map();
}
