/**
 * Plain words for the file-system errors a user causes (a path that is a file, a missing folder,
 * no permission), keyed `code:syscall`, then `code`. Used by the CLI's error printer and by code
 * that turns an operating-system error into a KilnError.
 */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  'EEXIST:mkdir': 'exists and is not a folder',
  ENOTDIR: 'a part of this path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/**
 * The plain words for `error` if it is an operating-system error naming a path, else undefined.
 * @example describeSystemError(err) // 'permission denied'
 */
export function describeSystemError(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException | undefined;
  if (!e || typeof e !== 'object' || !e.path) return undefined;
  return SYSTEM_ERRORS[`${e.code}:${e.syscall}`] ?? SYSTEM_ERRORS[e.code ?? ''];
}
