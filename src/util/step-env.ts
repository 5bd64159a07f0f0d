/**
 * The environment a build step's tools see: an allow-list, never the whole of kiln's environment
 * (a `command()` that prints its environment must not print a signing key into the build log).
 *
 * A step gets
 * - `PATH`, `HOME`, the locale (`LANG`, `LANGUAGE`, `LC_*`, `TZ`) and the temporary folder
 *   (`TMPDIR`, `TMP`, `TEMP`), when set;
 * - `SOURCE_DATE_EPOCH`, always: the build's epoch, so every tool stamps the same time;
 * - the variables that locate kiln's tools (`RUSTUP_HOME`, `CARGO_HOME`, `RUSTUP_TOOLCHAIN`, `ZIG`,
 *   Zig's cache folders, `XDG_CACHE_HOME`, `KILN_CACHE_DIR`);
 * - the variables the step declares (`command({ env: [...] })`), which are part of its action key;
 * - what the step kind itself sets for its tool (cargo's `RUSTC`, `CARGO_TARGET_DIR`, ...).
 *
 * It never gets a variable whose name looks secret (the rule is `isSecretName`), whatever the
 * route: a step that declares one is refused when the graph is planned, and a secret-looking
 * name is removed from every environment kiln passes to a subprocess. kiln's own signing step
 * reads `SIGNING_KEY` in-process (`StepContext.secrets`); no tool ever sees it.
 */
import { KilnError, type ErrorLocation } from '../errors.js';

/** Inherited variables every step gets when they are set. */
export const STEP_ENV_ALLOWED: readonly string[] = [
  'PATH',
  'HOME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'LANG',
  'LANGUAGE',
  'TZ',
  // Where kiln's tools live and keep their caches.
  'RUSTUP_HOME',
  'CARGO_HOME',
  'RUSTUP_TOOLCHAIN',
  'ZIG',
  'ZIG_GLOBAL_CACHE_DIR',
  'ZIG_LOCAL_CACHE_DIR',
  'XDG_CACHE_HOME',
  'KILN_CACHE_DIR',
];

/** Inherited variables matched by prefix (the locale categories). */
const ALLOWED_PREFIXES: readonly string[] = ['LC_'];

/** Words that make a variable name secret when they appear between its underscores. */
const SECRET_WORDS = new Set([
  'TOKEN',
  'TOKENS',
  'SECRET',
  'SECRETS',
  'PASSWORD',
  'PASSWD',
  'PASSPHRASE',
  'PASS',
  'CREDENTIAL',
  'CREDENTIALS',
  'CREDS',
  'AUTH',
  'COOKIE',
  'PRIVATE',
  'APIKEY',
]);

/** The rule of `isSecretName`, in words (shown in messages and documented in the README). */
export const SECRET_NAME_RULE =
  'a name starting with SIGNING_KEY, ending in KEY or KEYS, or with a word TOKEN, SECRET, PASSWORD, PASSWD, ' +
  'PASSPHRASE, PASS, CREDENTIAL(S), CREDS, AUTH, COOKIE, PRIVATE or APIKEY between its underscores';

/**
 * Whether an environment variable's name looks like it holds a secret (see `SECRET_NAME_RULE`):
 * `SIGNING_KEY`, `SIGNING_KEY_ML_DSA`, `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `NPM_AUTH_TOKEN`,
 * `SSH_AUTH_SOCK`, `API_KEY` do; `PATH`, `KEYMAP`, `RUSTFLAGS` do not.
 * @example
 * isSecretName('CI_JOB_TOKEN') // true
 */
export function isSecretName(name: string): boolean {
  // Asked for every inherited variable of every step: each name is judged once per process.
  let secret = secretNames.get(name);
  if (secret === undefined) secretNames.set(name, (secret = judgeSecretName(name)));
  return secret;
}

const secretNames = new Map<string, boolean>();

function judgeSecretName(name: string): boolean {
  const upper = name.toUpperCase();
  if (upper.startsWith('SIGNING_KEY')) return true;
  const words = upper.split(/_+/).filter((w) => w !== '');
  const last = words.at(-1);
  if (last === 'KEY' || last === 'KEYS') return true;
  return words.some((w) => SECRET_WORDS.has(w));
}

/** Whether an inherited variable is on the step allow-list. */
function allowed(name: string): boolean {
  return STEP_ENV_ALLOWED.includes(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p));
}

/** `env` without its secret-looking variables (for any environment handed to a subprocess). */
export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && !isSecretName(name)) out[name] = value;
  return out;
}

/** What a step declared about the environment (src/step.ts `Declaration`). */
export interface StepEnvDeclaration {
  /** Variables whose values are part of the action key. */
  env?: readonly string[];
  /** Of those, the secret ones the step kind reads in-process only (kiln's sign step). */
  secrets?: readonly string[];
}

/** The environment of one step: the allow-list, its declared variables and SOURCE_DATE_EPOCH. */
export interface StepEnvironment {
  /** What the step's tools get (`StepContext.env`). */
  env: NodeJS.ProcessEnv;
  /** Declared secrets, for in-process use (`StepContext.secrets`); never passed to a tool. */
  secrets: Readonly<Record<string, string | undefined>>;
}

/**
 * Builds a step's environment from kiln's own (`parent`).
 * @example
 * const { env } = stepEnvironment(process.env, { env: ['FAIL_STEP'] }, 315532800);
 */
export function stepEnvironment(
  parent: NodeJS.ProcessEnv,
  declaration: StepEnvDeclaration,
  epoch: number,
): StepEnvironment {
  const secretNames = new Set(declaration.secrets ?? []);
  const declared = new Set((declaration.env ?? []).filter((n) => !secretNames.has(n)));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || isSecretName(name)) continue;
    if (allowed(name) || declared.has(name)) env[name] = value;
  }
  env.SOURCE_DATE_EPOCH = String(epoch);
  const secrets: Record<string, string | undefined> = {};
  for (const name of secretNames) secrets[name] = parent[name];
  return { env, secrets: Object.freeze(secrets) };
}

/**
 * Refuses, at plan time, a step that declares a secret-looking variable for its tools (it would
 * hand the secret to the tool and to the tool's log). Secrets a kiln step kind reads in-process
 * are listed in `declaration.secrets` and pass.
 */
export function checkStepEnv(declaration: StepEnvDeclaration, location: ErrorLocation): void {
  const secretNames = new Set(declaration.secrets ?? []);
  const bad = (declaration.env ?? []).filter((n) => isSecretName(n) && !secretNames.has(n));
  if (bad.length === 0) return;
  throw new KilnError(
    'STEP_ENV_SECRET',
    `env ${bad.map((n) => JSON.stringify(n)).join(', ')}: a step's tools never get a secret`,
    {
      location,
      exitCode: 2,
      hint:
        `kiln keeps variables that look secret (${SECRET_NAME_RULE}) away from every step; ` +
        'pass what the tool needs through a file it reads, or rename the variable if it holds no secret',
    },
  );
}
