/**
 * `abi()`: one ABI schema (a TypeScript object, or a *.abi.toml / *.abi.json file) emitted as C,
 * Rust, Zig and TypeScript into the build folder. Its outputs are inputs of the components that
 * use them, so the graph orders ABI → services → kernel, and an unchanged schema rebuilds nothing.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { z } from 'zod';
import { KilnError } from '../errors.js';
import type { AbiLang, AbiSchema } from '../abi/index.js';
import { type DeclareContext, type StepContext, defineStep, type SchemaKit } from '../step.js';

/**
 * Options of `abi()`: C/Rust/Zig/TypeScript sources generated from one ABI schema.
 * @example const kozoAbi = abi({ schema: 'abi/kozo.abi.toml', lock: 'abi/abi.lock.json' })
 */
export interface AbiStepOptions {
  /** Step name in logs, `kiln graph` and `kiln build <name>` (default: its key in components/images/steps). */
  name?: string;
  /** The schema: a path to *.abi.toml / *.abi.json, or the object itself. */
  schema: string | AbiSchema;
  /** Languages (default: c, rust, zig, ts). */
  langs?: AbiLang[];
  /** The lock file keeping auto-assigned syscall numbers stable (default: none). */
  lock?: string;
  /** Folder inside the build folder (default `abi`). */
  dir?: string;
}

const EXT: Record<AbiLang, string> = { c: 'h', rust: 'rs', zig: 'zig', ts: 'ts' };

function schemaName(o: AbiStepOptions, projectDir: string): string {
  if (typeof o.schema !== 'string') return o.schema.name;
  const text = readFileSync(join(projectDir, o.schema), 'utf8');
  const m = o.schema.endsWith('.json') ? /"name"\s*:\s*"([^"]+)"/.exec(text) : /^\s*name\s*=\s*"([^"]+)"/m.exec(text);
  return m?.[1] ?? 'abi';
}

/** A plain object here (as zod's record accepts); normalizeAbi checks its contents when the step runs. */
const zAbiSchemaObject = (kit: SchemaKit) => {
  const { z } = kit;
  return z.custom<AbiSchema>((v) => {
    if (typeof v !== 'object' || v === null) return false;
    const proto: unknown = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
  });
};

const abiKind = {
  kind: 'abi',
  version: 1,
  makeSchema: (kit: SchemaKit) => {
    const { z } = kit;
    return z
      .object({
        name: z.string().optional(),
        schema: z.union([z.string(), zAbiSchemaObject(kit)]),
        langs: z.array(z.enum(['c', 'rust', 'zig', 'ts'])).optional(),
        lock: z.string().optional(),
        dir: z.string().optional(),
      })
      .strict() satisfies z.ZodType<AbiStepOptions>;
  },
  declare(o: AbiStepOptions, ctx: DeclareContext) {
    const name = schemaName(o, ctx.projectDir);
    const langs = o.langs ?? ['c', 'rust', 'zig', 'ts'];
    return {
      inputs: [...(typeof o.schema === 'string' ? [o.schema] : []), ...(o.lock ? [o.lock] : [])],
      outputs: langs.map((l) => posix.join(o.dir ?? 'abi', `${name}_abi.${EXT[l]}`)),
    };
  },
  async make(o: AbiStepOptions, ctx: StepContext) {
    const abi = await import('../abi/index.js');
    const file = typeof o.schema === 'string' ? o.schema : undefined;
    const schema = file
      ? await abi.parseAbiSource(readFileSync(ctx.path(file), 'utf8'), file)
      : (o.schema as AbiSchema);
    const lock = o.lock ? abi.parseAbiLock(readFileSync(ctx.path(o.lock), 'utf8'), o.lock) : undefined;
    // Normalize once (with the lock's syscall numbers) so the logged hash is the one in the files.
    const normalized = abi.normalizeAbi(schema, {
      ...(lock ? { lockedSyscalls: lock.syscalls } : {}),
      ...(file ? { file } : {}),
    });
    const arch = ctx.target.arch;
    if (arch === 'i386') {
      throw new KilnError(
        'ABI_ARCH_UNSUPPORTED',
        'the ABI generator lays structs out for LP64 (x86_64, aarch64); i386 is ILP32 with 4-byte-aligned u64',
        { hint: 'generate the ABI for an LP64 target, or keep i386 headers hand-written' },
      );
    }
    const files = abi.generateAbi(normalized, { ...(o.langs ? { langs: o.langs } : {}), arch });
    for (const f of files) await writeFile(ctx.outPath(posix.join(o.dir ?? 'abi', f.path)), f.contents);
    ctx.log(`abi ${schema.name}: hash ${abi.abiHash(normalized)}`);
  },
};

/**
 * ABI generation.
 * @example const kozoAbi = abi({ schema: 'abi/kozo.abi.toml' }); cargo.bin({ ..., env: { KOZO_ABI: kozoAbi.output('kozo_abi.rs') } })
 */
export const abi = defineStep<AbiStepOptions>(abiKind);
