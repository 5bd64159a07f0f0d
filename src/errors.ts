/**
 * Errors a user can cause. Every KilnError carries a stable `code`, a message saying what is
 * wrong, where (file, config path, byte offset) and a hint saying how to fix it. The CLI prints
 * them without a stack trace (unless --debug) and exits non-zero.
 */

/** Where an error was found. Every field is optional; fill what is known. */
export interface ErrorLocation {
  /** File the problem is in (config file, image, ELF, source file). */
  file?: string;
  /** Dotted path inside the config, e.g. `components.kernel.arch`. */
  configPath?: string;
  /** Byte offset inside `file` (binary formats). */
  offset?: number;
  /** 1-based line inside `file` (text files). */
  line?: number;
  /** 1-based column inside `file` (text files). */
  column?: number;
}

/** The optional parts of a {@link KilnError}: location, hint, cause, exit code, details. */
export interface KilnErrorOptions {
  /** Where the problem is: file, config path, byte offset, line. */
  location?: ErrorLocation;
  /** One line saying what to do about it (printed after the message). */
  hint?: string;
  /** The underlying error (the standard `Error.cause`). */
  cause?: unknown;
  /** Process exit code the CLI uses for this error (default 1; config errors use 2). */
  exitCode?: number;
  /** Extra structured data for --json output. */
  details?: Record<string, unknown>;
}

/**
 * Every error kiln reports on purpose: a stable `code` (`CONFIG_INVALID`, `STEP_FAILED`, ...), a message, where it
 * is (file, config path, byte offset), a hint, and the process exit code (2 for usage and config errors, 1 for
 * failures). The CLI prints it without a stack trace unless `--debug`.
 * @example throw new KilnError('INIT_TEMPLATE', 'unknown template "cobol"', { hint: 'asm | c | rust | zig',
 * exitCode: 2 })
 */
export class KilnError extends Error {
  readonly code: string;
  readonly location: ErrorLocation | undefined;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KilnError';
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details;
  }

  /** `file: configPath: message` or `file @0x1F0: message`, as printed by the CLI. */
  toLine(): string {
    return formatErrorLine(this.message, this.location);
  }

  /** The error as `--json` prints it: code, message, location, hint and details. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.location ? { location: this.location } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** A malformed or unsupported input to a format reader or writer. */
export class FormatError extends KilnError {
  readonly format: string;
  readonly offset: number | undefined;

  constructor(format: string, code: string, message: string, options: KilnErrorOptions & { offset?: number } = {}) {
    const location = { ...options.location, ...(options.offset !== undefined ? { offset: options.offset } : {}) };
    super(code, `${format}: ${message}`, { ...options, location });
    this.name = 'FormatError';
    this.format = format;
    this.offset = options.offset;
  }
}

/**
 * Names `file` in a KilnError that names no file yet, and returns the error (anything else is
 * returned as it is): for readers given a file, whose checks only know offsets.
 * @example throw nameFile(error, 'disk.vdi');
 */
export function nameFile(error: unknown, file: string | undefined): unknown {
  if (file !== undefined && error instanceof KilnError && error.location?.file === undefined) {
    (error as { location: ErrorLocation | undefined }).location = { file, ...error.location };
  }
  return error;
}

export function formatErrorLine(message: string, location: ErrorLocation | undefined): string {
  if (!location) return message;
  const parts: string[] = [];
  if (location.file) {
    let where = location.file;
    if (location.line !== undefined) where += `:${location.line}`;
    if (location.line !== undefined && location.column !== undefined) where += `:${location.column}`;
    parts.push(where);
  }
  if (location.configPath) parts.push(location.configPath);
  if (location.offset !== undefined) parts.push(`offset 0x${location.offset.toString(16)} (${location.offset})`);
  return parts.length ? `${parts.join(': ')}: ${message}` : message;
}
