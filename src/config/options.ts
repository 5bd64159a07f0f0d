/**
 * Project build options, declared in kiln.config.ts like Zig's `b.option()`: a name, a type, a
 * default and a help text. They appear in `kiln build --help` and are set with `--name=value`.
 */
import { KilnError } from '../errors.js';
import { parseSize } from '../util/size.js';

interface OptionBase<T> {
  /** One line shown in `kiln build --help`. */
  help: string;
  /** The value when the flag is not given. */
  default: T;
}
/** A true/false option (`--name`, `--name=false`); default `false`. */
export interface BoolOption extends OptionBase<boolean> {
  /** Discriminant: a boolean option. */
  type: 'bool';
}
/** An option taking one of a fixed list of strings (`--mode=iso`). */
export interface EnumOption<V extends string = string> extends OptionBase<V> {
  /** Discriminant: an enum option. */
  type: 'enum';
  /** The accepted values. */
  values: readonly V[];
}
/** An integer option with optional bounds (`--cpus=4`). */
export interface IntOption extends OptionBase<number> {
  /** Discriminant: an integer option. */
  type: 'int';
  /** Smallest accepted value (inclusive). */
  min?: number;
  /** Largest accepted value (inclusive). */
  max?: number;
}
/** A size in bytes; the default and `--name=` accept `16M`, `512K`, `8388608`. */
export interface SizeOption extends OptionBase<number> {
  /** Discriminant: a size option. */
  type: 'size';
  /** Smallest accepted size in bytes. */
  min?: number;
  /** Largest accepted size in bytes. */
  max?: number;
}
/** A free-text option (`--cmdline="console=ttyS0"`); default `''`. */
export interface StringOption extends OptionBase<string> {
  /** Discriminant: a string option. */
  type: 'string';
}
/** Any option definition, as the `option.*` constructors return it. */
export type OptionDef = BoolOption | EnumOption | IntOption | SizeOption | StringOption;
/** The `options` field of a config: option name → definition. */
export type OptionsSpec = Record<string, OptionDef>;

/** The value type of an option definition. */
export type OptionValue<D> =
  D extends EnumOption<infer V>
    ? V
    : D extends BoolOption
      ? boolean
      : D extends IntOption | SizeOption
        ? number
        : D extends StringOption
          ? string
          : never;
/** The values `t.options` holds in `build(t)`: each option's value, typed from its definition. */
export type OptionValues<O extends OptionsSpec> = { readonly [K in keyof O]: OptionValue<O[K]> };

/**
 * Option constructors.
 * @example
 * options: {
 *   mode: option.enum(['raw', 'iso', 'vdi', 'vmdk'], { default: 'raw', help: 'output format' }),
 *   size: option.size({ default: '8M', min: '8M', help: 'disk image size' }),
 *   debug: option.bool({ help: 'debug symbols and verbose serial logging' }),
 * }
 */
export const option = {
  /**
   * A boolean option, `false` unless `default` says otherwise; set with `--name` or `--name=false`.
   * @example `debug: option.bool({ help: 'verbose serial logging' })`, then `t.options.debug` in `build(t)`.
   */
  bool(spec: { help: string; default?: boolean }): BoolOption {
    return { type: 'bool', help: spec.help, default: spec.default ?? false };
  },
  /**
   * One of `values`; `t.options.<name>` has their union type.
   * @example `mode: option.enum(['raw', 'iso'], { default: 'raw', help: 'output format' })`, set with
   * `--mode=iso`.
   */
  enum<const V extends string>(values: readonly V[], spec: { help: string; default: NoInfer<V> }): EnumOption<V> {
    return { type: 'enum', values, help: spec.help, default: spec.default };
  },
  /**
   * An integer, optionally bounded by `min`/`max` (inclusive).
   * @example `cpus: option.int({ default: 1, min: 1, max: 8, help: 'QEMU -smp' })`, set with `--cpus=4`.
   */
  int(spec: { help: string; default: number; min?: number; max?: number }): IntOption {
    return { type: 'int', ...spec };
  },
  /**
   * A size in bytes; `default`, `min`, `max` and the flag accept `16M`, `512K` or bytes (a bare number on the
   * command line is MiB when the default is whole MiB).
   * @example `size: option.size({ default: '8M', min: '8M', help: 'disk size' })`, set with `--size=16M`.
   */
  size(spec: { help: string; default: number | string; min?: number | string; max?: number | string }): SizeOption {
    return {
      type: 'size',
      help: spec.help,
      default: parseSize(spec.default, 'option default'),
      ...(spec.min !== undefined ? { min: parseSize(spec.min, 'option min') } : {}),
      ...(spec.max !== undefined ? { max: parseSize(spec.max, 'option max') } : {}),
    };
  },
  /**
   * Free text, `''` unless `default` says otherwise.
   * @example `cmdline: option.string({ help: 'kernel command line' })`, set with `--cmdline=quiet`.
   */
  string(spec: { help: string; default?: string }): StringOption {
    return { type: 'string', help: spec.help, default: spec.default ?? '' };
  },
};

function describeType(def: OptionDef): string {
  switch (def.type) {
    case 'bool':
      return 'true | false';
    case 'enum':
      return def.values.map((v) => JSON.stringify(v)).join(' | ');
    case 'int':
      if (def.min !== undefined && def.max !== undefined) return `an integer from ${def.min} to ${def.max}`;
      if (def.min !== undefined) return `an integer >= ${def.min}`;
      if (def.max !== undefined) return `an integer <= ${def.max}`;
      return 'an integer';
    case 'size':
      return 'a size like 8M';
    case 'string':
      return 'a string';
  }
}

/** Parses one `--name=value` given on the command line (or a default) into the option's type. */
export function parseOptionValue(name: string, def: OptionDef, raw: string | boolean): string | number | boolean {
  const fail = (extra = ''): never => {
    throw new KilnError(
      'OPTION_INVALID',
      `--${name}: expected ${describeType(def)}, got ${JSON.stringify(raw)}${extra}`,
      {
        hint: `${def.help} (default: ${formatOptionDefault(def)})`,
        exitCode: 2,
      },
    );
  };
  switch (def.type) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      return fail();
    case 'enum':
      if (typeof raw === 'string' && def.values.includes(raw)) return raw;
      return fail();
    case 'string':
      if (typeof raw === 'string') return raw;
      return fail();
    case 'int': {
      const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) return fail();
      if (def.min !== undefined && n < def.min) return fail(`: below the minimum of ${def.min}`);
      if (def.max !== undefined && n > def.max) return fail(`: above the maximum of ${def.max}`);
      return n;
    }
    case 'size': {
      if (typeof raw !== 'string') return fail();
      let n: number;
      try {
        // A bare number is megabytes when the default is a whole number of MiB and the value is small
        // (Portix's `--size=16` means 16 MB); otherwise bytes. Units always win.
        n =
          /^\d+$/.test(raw) && Number(raw) < 1 << 20 && def.default % (1 << 20) === 0
            ? Number(raw) * (1 << 20)
            : parseSize(raw);
      } catch {
        return fail();
      }
      if (def.min !== undefined && n < def.min) return fail(`: below the minimum of ${formatBytes(def.min)}`);
      if (def.max !== undefined && n > def.max) return fail(`: above the maximum of ${formatBytes(def.max)}`);
      return n;
    }
  }
}

function formatBytes(n: number): string {
  if (n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

/** An option's default as `kiln build --help` shows it (`"raw"`, `8M`, `false`). */
export function formatOptionDefault(def: OptionDef): string {
  return def.type === 'size' ? formatBytes(def.default) : JSON.stringify(def.default);
}

/** Resolves all option values from defaults and the `--name=value` pairs given. */
export function resolveOptions<O extends OptionsSpec>(
  spec: O,
  given: Record<string, string | boolean>,
): OptionValues<O> {
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(spec)) {
    values[name] = Object.hasOwn(given, name) ? parseOptionValue(name, def, given[name]!) : def.default;
  }
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(spec, name)) {
      throw new KilnError('OPTION_UNKNOWN', `--${name}: this project has no option "${name}"`, {
        hint: Object.keys(spec).length
          ? `options: ${Object.keys(spec)
              .map((n) => `--${n}`)
              .join(', ')}`
          : 'the project declares no options',
        exitCode: 2,
      });
    }
  }
  return values as OptionValues<O>;
}

/** The flag (`--mode=<raw|iso>`) and help line `kiln build --help` prints for an option. */
export function describeOption(name: string, def: OptionDef): { flag: string; help: string } {
  const flag =
    def.type === 'bool' ? `--${name}` : `--${name}=<${def.type === 'enum' ? def.values.join('|') : def.type}>`;
  return { flag, help: `${def.help} (${describeType(def)}; default: ${formatOptionDefault(def)})` };
}
