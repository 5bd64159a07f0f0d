/**
 * A step's fingerprint: everything its action key is made of, as named fields with full hashes.
 * The same object decides a rerun (its hash is the action key) and explains one (a field-by-field
 * comparison with the fingerprint of the step's last run), as wireit's Fingerprint does. It holds
 * hashes and names only: never an env var's value, never a secret.
 */
import { basename, isAbsolute, relative, sep } from 'node:path';
import { KilnError } from '../errors.js';
import type { ArtifactResolver, KeyText, PlannedStep } from './graph.js';
import {
  type ActionKey,
  type FileHash,
  type StatIndex,
  type ValueHash,
  hashText,
  hashValue,
  stableKeys,
  stableStringify,
} from './hashing.js';
import { sha256Hex } from '../util/hash.js';
import { readPath } from './deps-log.js';
import { type ArtifactRef, type StepHandle, isArtifactRef, isOutputPlaceholder, isStepHandle } from '../step.js';
import { signingKeyIds } from './signing-keys.js';
import { type ToolIdentity, resolveTool } from './tools.js';

export interface Fingerprint {
  /** The step kind and its implementation version. */
  readonly step: { readonly kind: string; readonly version: number };
  /** `x86_64-debug` */
  readonly target: string;
  /** SOURCE_DATE_EPOCH (or kiln's default) the step writes timestamps with. */
  readonly epoch: number;
  /** Declared input files, project-relative path → content hash. */
  readonly files: Readonly<Record<string, FileHash>>;
  /**
   * Discovered inputs: what the step reported reading last time (a depfile's headers, cargo's
   * dep-info; deps-log.ts names) → content hash now, null when the file is gone. Read from the
   * step's record (ninja's deps log); declared globs stay in `files`.
   */
  readonly reads: Readonly<Record<string, FileHash | null>>;
  /** Declared env vars → the hash of their value. */
  readonly env: Readonly<Record<string, ValueHash>>;
  /** Declared tools → the executable found (real path + content hash), null when not found. */
  readonly tools: Readonly<Record<string, ToolIdentity | null>>;
  /**
   * The keys a signing step signs with: algorithm → public key id (graph/signing-keys.ts). Absent
   * for a step that signs nothing.
   */
  readonly signingKeys?: Readonly<Record<string, string>>;
  /** The options (or the declaration's `key`), artifact refs replaced by their content hashes. */
  readonly options: ValueHash;
  /** The declared outputs. */
  readonly outputs: readonly string[];
}

/** What the fingerprint of a step is computed from, besides the step itself. */
export interface FingerprintSources {
  projectDir: string;
  /** The target's build folder (generated files a step read are named relative to it). */
  buildDir: string;
  target: string;
  epoch: number;
  env: NodeJS.ProcessEnv;
  index: StatIndex;
  artifacts: ArtifactResolver;
  /** Content hashes of the outputs of the steps that already finished (step → output → hash). */
  outputHashes: ReadonlyMap<string, Readonly<Record<string, FileHash>>>;
}

/**
 * The action key: the hash of the fingerprint, with each tool counted by its content alone (where it
 * is installed differs between machines and checkouts; what it is does not). A tool declared by
 * absolute path (a Zig in node_modules, `ZIG=/opt/zig/zig`) counts under its file name.
 */
export function actionKey(fingerprint: Fingerprint): ActionKey {
  return sha256Hex(fingerprintText(fingerprint)) as ActionKey;
}

/**
 * What the action key hashes: the fingerprint's stable JSON with each tool as its content hash,
 * written field by field. Byte-identical to `stableStringify` of the same object (the key of a
 * fingerprint never changed with this encoder; test/graph/fingerprint.test.ts compares the two),
 * without the generic encoder's sorted copy of every object, once per step of every build.
 */
export function fingerprintText(fingerprint: Fingerprint): string {
  const tools: Record<string, FileHash | null> = {};
  for (const name in fingerprint.tools) {
    const tool = fingerprint.tools[name];
    tools[isAbsolute(name) ? basename(name) : name] = tool ? tool.hash : null;
  }
  const fields: Array<[string, string | undefined]> = [
    ['env', flatRecordText(fingerprint.env)],
    ['epoch', JSON.stringify(fingerprint.epoch)],
    ['files', flatRecordText(fingerprint.files)],
    ['options', JSON.stringify(fingerprint.options)],
    ['outputs', fingerprint.outputs === undefined ? undefined : JSON.stringify(fingerprint.outputs)],
    ['reads', flatRecordText(fingerprint.reads)],
    ['signingKeys', flatRecordText(fingerprint.signingKeys)],
    ['step', flatRecordText(fingerprint.step)],
    ['target', JSON.stringify(fingerprint.target)],
    ['tools', flatRecordText(tools)],
  ];
  let text = '';
  for (const [name, value] of fields) if (value !== undefined) text += `${text ? ',' : ''}"${name}":${value}`;
  return `{${text}}`;
}

/** Stable JSON of an object whose values are strings, numbers or null (undefined values left out). */
function flatRecordText(record: object | undefined): string | undefined {
  if (record === undefined) return undefined;
  const values = record as Readonly<Record<string, string | number | null | undefined>>;
  let text = '';
  for (const key of stableKeys(record)) {
    const value = JSON.stringify(values[key]) as string | undefined;
    if (value !== undefined) text += `${text ? ',' : ''}${JSON.stringify(key)}:${value}`;
  }
  return `{${text}}`;
}

/**
 * The name of an input file in a fingerprint: project-relative inside the project (so two checkouts
 * agree), absolute outside it (a system file is at the same place on every machine; a relative name
 * would change with the checkout's depth).
 */
export function inputName(projectDir: string, file: string): string {
  // The usual case without path.relative's normalizing: a normalized path inside the project.
  if (file.startsWith(projectDir) && file.charCodeAt(projectDir.length) === 47 && isNormalized(file))
    return file.slice(projectDir.length + 1);
  const rel = relative(projectDir, file);
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? file : rel;
}

/** No `.` or `..` component and no doubled or trailing `/` (what path.join leaves). */
function isNormalized(path: string): boolean {
  return !path.includes('/.') && !path.includes('//') && !path.endsWith('/');
}

/**
 * The fingerprint of `step` whose declared inputs expanded to `inputFiles` (absolute paths).
 * A missing input is a config error naming the step's config path. Synchronous (stat calls, the
 * stat index and hashes of short texts: a no-op build runs it once per step) unless the step signs.
 */
export function fingerprintStep(
  step: PlannedStep,
  inputFiles: string[],
  from: FingerprintSources,
  reads: readonly string[] = [],
): Fingerprint | Promise<Fingerprint> {
  const files: Record<string, FileHash> = {};
  for (const file of inputFiles) files[inputName(from.projectDir, file)] = hashInput(step, file, from);
  const env: Record<string, ValueHash> = {};
  for (const name of step.declaration.env ?? []) env[name] = envHash(name, from);
  const tools: Record<string, ToolIdentity | null> = {};
  for (const tool of step.declaration.tools ?? []) tools[tool] = resolveTool(tool, from.env, from.index) ?? null;
  const fingerprint: Fingerprint = {
    step: { kind: step.handle.kind.kind, version: step.handle.kind.version },
    target: from.target,
    epoch: from.epoch,
    files,
    reads: hashReads(reads, from),
    env,
    tools,
    options: step.keyText ? hashText(keyTextOf(step, step.keyText, from)) : hashValue(keyData(step, from)),
    outputs: step.outputs,
  };
  const keys = step.declaration.signingKeys;
  if (!keys?.length) return fingerprint;
  // A signing step's keys are found by the signing library (loaded by builds that sign): asynchronously.
  return signingKeyIds(keys, from).then((signingKeys) => ({ ...fingerprint, signingKeys }));
}

/** Recorded reads → their content hashes now (null = gone: the step reruns and finds out). */
function hashReads(reads: readonly string[], from: FingerprintSources): Record<string, FileHash | null> {
  const out: Record<string, FileHash | null> = {};
  for (const key of reads) out[key] = from.index.hash(readPath(key, from.projectDir, from.buildDir)) ?? null;
  return out;
}

/** The fingerprint with the files the step reported reading in this run as its discovered inputs. */
export function withReads(fingerprint: Fingerprint, reads: readonly string[], from: FingerprintSources): Fingerprint {
  return { ...fingerprint, reads: hashReads(reads, from) };
}

/** The digest of a fingerprint's discovered inputs (names and content hashes), kept in a cache entry. */
export function readsDigest(fingerprint: Fingerprint): ValueHash {
  return hashValue(fingerprint.reads);
}

function hashInput(step: PlannedStep, file: string, from: FingerprintSources): FileHash {
  const hash = from.index.hash(file);
  if (hash !== undefined) return hash;
  throw new KilnError('INPUT_MISSING', `step "${step.name}": input ${relative(from.projectDir, file)} does not exist`, {
    location: { file: relative(process.cwd(), file), configPath: step.configPath },
    hint: 'create the file, or fix the path in the config (paths are relative to the config folder)',
  });
}

const envHashes = new WeakMap<FingerprintSources, Map<string, ValueHash>>();

/** The hash of an env var's value, once per build (most steps declare the same few). */
function envHash(name: string, from: FingerprintSources): ValueHash {
  let known = envHashes.get(from);
  if (!known) envHashes.set(from, (known = new Map()));
  let hash = known.get(name);
  if (hash === undefined) known.set(name, (hash = hashValue(from.env[name] ?? null)));
  return hash;
}

/** The stable JSON keyData would give, from a plan cache's pre-cut text: the same hash. */
function keyTextOf(step: PlannedStep, text: KeyText, from: FingerprintSources): string {
  let out = text.parts[0]!;
  text.refs.forEach((ref, i) => {
    const { rel, producer } = from.artifacts.resolve(ref, step);
    out += stableStringify({ artifact: rel, hash: from.outputHashes.get(producer.name)?.[rel] ?? 'missing' });
    out += text.parts[i + 1]!;
  });
  return out;
}

/** Options with artifact refs replaced by their content hashes: the data part of the key. */
function keyData(step: PlannedStep, from: FingerprintSources): unknown {
  return mapKeyData(step.declaration.key ?? step.options, (ref) => {
    const { rel, producer } = from.artifacts.resolve(ref, step);
    return { artifact: rel, hash: from.outputHashes.get(producer.name)?.[rel] ?? 'missing' };
  });
}

/**
 * The walk behind a step's key data: `value` with every artifact ref (or step handle) replaced by
 * what `onRef` returns, output placeholders by `{ out }`, a value met twice by `'[cycle]'`. The plan
 * cache runs the same walk to store the key data, so a cached plan hashes to the same key.
 */
export function mapKeyData(value: unknown, onRef: (ref: ArtifactRef | StepHandle) => unknown): unknown {
  const seen = new Set<unknown>();
  const replace = (v: unknown): unknown => {
    if (isArtifactRef(v) || isStepHandle(v)) return onRef(v);
    if (isOutputPlaceholder(v)) return { out: v.output };
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof RegExp) return v;
    if (seen.has(v)) return '[cycle]';
    seen.add(v);
    if (Array.isArray(v)) return v.map(replace);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replace(x)]));
  };
  return replace(value);
}

/** The tools a fingerprint found: name → resolved path (for `kiln status`'s toolchain line). */
export function toolPaths(fingerprint: Fingerprint): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [name, identity] of Object.entries(fingerprint.tools)) if (identity) paths[name] = identity.path;
  return paths;
}

// ---- Explaining a rerun ----

/** One difference between two fingerprints. */
export type FingerprintChange =
  | {
      readonly part: 'file' | 'read' | 'env' | 'tool' | 'signing-key';
      readonly name: string;
      readonly how: 'added' | 'removed' | 'changed';
    }
  | { readonly part: 'options' | 'step' | 'target' | 'epoch' | 'outputs'; readonly how: 'changed' };

/**
 * What changed from `prev` to `next`: removed and changed entries in field order (files, env,
 * tools, signing keys, options, step, target, epoch, outputs), then added entries in the same order.
 */
export function diffFingerprints(prev: Fingerprint, next: Fingerprint): FingerprintChange[] {
  const changed: FingerprintChange[] = [];
  const added: FingerprintChange[] = [];
  type Entries<V> = Readonly<Record<string, V>>;
  type Same<V> = (x: V, y: V) => boolean;
  type Part = 'file' | 'read' | 'env' | 'tool' | 'signing-key';
  const record = <V>(part: Part, a: Entries<V>, b: Entries<V>, same: Same<V>): void => {
    for (const [name, value] of Object.entries(a)) {
      if (!(name in b)) changed.push({ part, name, how: 'removed' });
      else if (!same(value, b[name]!)) changed.push({ part, name, how: 'changed' });
    }
    for (const name of Object.keys(b)) if (!(name in a)) added.push({ part, name, how: 'added' });
  };
  record('file', prev.files, next.files, (x, y) => x === y);
  // A discovered input that changed is a reason; one only newly read (or no longer read) is not.
  for (const [name, hash] of Object.entries(prev.reads ?? {})) {
    if (name in next.reads && next.reads[name] !== hash)
      changed.push({ part: 'read', name, how: next.reads[name] === null ? 'removed' : 'changed' });
  }
  record('env', prev.env, next.env, (x, y) => x === y);
  record('tool', prev.tools, next.tools, sameTool);
  record('signing-key', prev.signingKeys ?? {}, next.signingKeys ?? {}, (x, y) => x === y);
  if (prev.options !== next.options) changed.push({ part: 'options', how: 'changed' });
  const sameStep = prev.step.kind === next.step.kind && prev.step.version === next.step.version;
  if (!sameStep) changed.push({ part: 'step', how: 'changed' });
  if (prev.target !== next.target) changed.push({ part: 'target', how: 'changed' });
  if (prev.epoch !== next.epoch) changed.push({ part: 'epoch', how: 'changed' });
  if (prev.outputs.join('\0') !== next.outputs.join('\0')) changed.push({ part: 'outputs', how: 'changed' });
  return [...changed, ...added];
}

function sameTool(a: ToolIdentity | null, b: ToolIdentity | null): boolean {
  return a === null || b === null ? a === b : a.path === b.path && a.hash === b.hash;
}

/** `file:src/main.c changed`, `options changed` */
export function describeChange(change: FingerprintChange): string {
  return 'name' in change ? `${change.part}:${change.name} ${change.how}` : `${change.part} ${change.how}`;
}

/**
 * Why a step runs again: `never built`, the first three changes (`file:a.c changed, options
 * changed (+2 more)`), or — same fingerprint — `outputs changed on disk`.
 */
export function explainRerun(prev: Fingerprint | undefined, next: Fingerprint): string {
  if (!prev) return 'never built';
  const changes = diffFingerprints(prev, next).map(describeChange);
  if (changes.length === 0) return 'outputs changed on disk';
  const more = changes.length > 3 ? ` (+${changes.length - 3} more)` : '';
  return changes.slice(0, 3).join(', ') + more;
}
