/**
 * The build's logs: every step's output appended to `build/logs/build.log` under a header naming
 * the step and why it ran, and each step's output of its last run on its own (for `kiln status`).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { type BuildLayout, stepLogPath } from './layout.js';

export class BuildLog {
  private constructor(
    private readonly layout: BuildLayout,
    private readonly stream: WriteStream,
  ) {}

  static open(layout: BuildLayout, target: string): BuildLog {
    mkdirSync(layout.logDir, { recursive: true });
    mkdirSync(layout.stepLogDir, { recursive: true });
    const stream = createWriteStream(layout.buildLog, { flags: 'a' });
    stream.write(`\n=== kiln build ${target} at ${new Date().toISOString()}\n`);
    return new BuildLog(layout, stream);
  }

  /** Records the output of a step that ran (`kind` and `reason` go into the header). */
  step(name: string, kind: string, reason: string, text: string): Promise<void> {
    this.stream.write(`--- [${name}] (${kind}) ${reason}\n${text}`);
    // Written in place: a log is not an output, and a temp file + rename costs two more metadata
    // writes per step (on this kind of disk as much as the step's own `cp`). On an I/O thread.
    return writeFile(stepLogPath(this.layout, name), text);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
