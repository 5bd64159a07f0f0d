/**
 * Make-syntax dependency files, as compilers write them: gcc/clang `-MD -MF` (GCC manual
 * "Preprocessor Options"), nasm `-MD`, `as` through the compiler driver, cargo's dep-info
 * (`target/<triple>/<profile>/<bin>.d`). Rules are `targets: prerequisites`, continued with a
 * backslash-newline; a space inside a path is `\ `, `$$` is `$`, `\#` is `#`. `-MP` adds a phony
 * rule per header (`foo.h:`), which only repeats names already listed. ninja reads the same subset
 * (src/depfile_parser.cc).
 */

export interface Depfile {
  /** Targets of the rules, in order (usually the object file). */
  targets: string[];
  /** Every prerequisite of every rule, deduplicated, in first-seen order (the source first for a compile). */
  inputs: string[];
}

/** Splits a depfile into words, unescaping `\ `, `\#`, `$$` and joining backslash-newline continuations. */
function words(text: string): Array<{ word: string; colon: boolean } | 'newline'> {
  const out: Array<{ word: string; colon: boolean } | 'newline'> = [];
  let cur = '';
  const flush = (colon: boolean): void => {
    if (cur !== '' || colon) out.push({ word: cur, colon });
    cur = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '\\' && (next === '\n' || (next === '\r' && text[i + 2] === '\n'))) {
      flush(false);
      i += next === '\r' ? 2 : 1;
    } else if (c === '\\' && (next === ' ' || next === '#' || next === '\\')) {
      cur += next;
      i++;
    } else if (c === '$' && next === '$') {
      cur += '$';
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      flush(false);
    } else if (c === '\n') {
      flush(false);
      out.push('newline');
    } else if (c === ':' && (next === undefined || next === ' ' || next === '\t' || next === '\n' || next === '\r')) {
      // A colon ends the targets; a drive letter (C:\) has no space after it.
      flush(true);
    } else {
      cur += c;
    }
  }
  flush(false);
  return out;
}

/**
 * Parses a depfile.
 * @example parseDepfile('kmain.o: kmain.c include/fs.h \\\n  include/my\\ types.h\n').inputs
 * // ['kmain.c', 'include/fs.h', 'include/my types.h']
 */
export function parseDepfile(text: string): Depfile {
  const targets: string[] = [];
  const inputs: string[] = [];
  const seen = new Set<string>();
  let inTargets = true;
  for (const w of words(text)) {
    if (w === 'newline') {
      inTargets = true;
      continue;
    }
    if (inTargets) {
      if (w.word !== '' && !targets.includes(w.word)) targets.push(w.word);
      if (w.colon) inTargets = false;
      continue;
    }
    if (w.word === '' || seen.has(w.word) || targets.includes(w.word)) continue;
    seen.add(w.word);
    inputs.push(w.word);
  }
  // Phony -MP rules name headers as targets: they are inputs too, never outputs of the compile.
  return { targets: targets.filter((t) => !seen.has(t)), inputs };
}
