/**
 * Two sections of the status report the ExoV6 seed's report has: the git history of the fixes
 * (commits since the previous report that touched the files whose errors were fixed) and the
 * success criteria of the last boot (the kernel's ELF checks, the boot result, the serial lines
 * matched and the numbers measured, from the last `kiln test`).
 */
import { spawnSync } from 'node:child_process';
import { type ElfCheck, type LastTestResult, elfChecks, readLastTest } from './last-test.js';

/** A blocking diagnostic as the report history keeps it (report/status.ts). */
export interface ChangeEntry {
  key: string;
  class: string;
  location: string;
  message: string;
}

/** A commit that touched the files of a diagnostic since the previous report. */
export interface FixCommit {
  hash: string;
  /** YYYY-MM-DD */
  date: string;
  subject: string;
  /** Of the fixed files, those this commit touched. */
  files: string[];
}

/** What changed since the previous `kiln status`: the files and the commits that touched them. */
export interface FixHistory {
  /** Seconds since 1970: the previous report's build. */
  since: number;
  files: string[];
  commits: FixCommit[];
  /** Why there is no history (not a git checkout, git missing). */
  note?: string;
}

/** The last `kiln test` results with the ELF checks of what booted (the boot half of `kiln status`). */
export interface BootCriteria {
  /** Seconds since 1970: when the last `kiln test` ran. */
  time: number;
  results: Array<LastTestResult & { elf?: ElfCheck[] }>;
}

/** `file:line:col` → `file`. */
function fileOf(location: string): string {
  return location.replace(/(:\d+)+$/, '');
}

/**
 * Commits since `sinceMs` touching the files of the fixed entries (`git log --name-only`), newest first.
 * @example fixHistory('/p', { since: Date.now() - 3600e3, fixed: report.changes.fixed })
 */
export function fixHistory(
  projectDir: string,
  changes: { since: number; fixed: ChangeEntry[] },
): FixHistory | undefined {
  const files = [...new Set(changes.fixed.map((e) => fileOf(e.location)).filter(Boolean))].sort();
  if (files.length === 0) return undefined;
  const since = Math.floor(changes.since / 1000);
  const r = spawnSync(
    'git',
    ['log', `--since=@${since}`, '--date=short', '--format=%x00%h%x09%ad%x09%s', '--name-only', '--', ...files],
    { cwd: projectDir, encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) {
    return {
      since,
      files,
      commits: [],
      note: r.error ? 'git is not installed' : 'not a git checkout (no history of the fixes)',
    };
  }
  const commits: FixCommit[] = [];
  for (const block of r.stdout.split('\0').slice(1)) {
    const [head = '', ...rest] = block.split('\n');
    const [hash = '', date = '', ...subject] = head.split('\t');
    commits.push({
      hash,
      date,
      subject: subject.join('\t'),
      files: rest.map((l) => l.trim()).filter((l) => files.includes(l)),
    });
  }
  return { since, files, commits };
}

/** The last `kiln test`'s results with the ELF checks of each booted kernel. */
export function bootCriteria(buildRoot: string): BootCriteria | undefined {
  const last = readLastTest(buildRoot);
  if (!last) return undefined;
  return {
    time: last.time,
    results: last.results.map((r) => ({ ...r, ...(r.kernel ? { elf: elfChecks(r.kernel, r.arch) } : {}) })),
  };
}
