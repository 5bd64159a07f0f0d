// Generates small real projects for graph tests: every step is a node script that appends its name
// to runs.log (so tests count executions), optionally sleeps, and writes its output.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const STEP_SCRIPT = `
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
const [name, output, wait, ...inputs] = process.argv.slice(2);
appendFileSync(process.env.RUNS_LOG, name + ' start ' + Date.now() + '\\n');
const body = inputs.map((f) => readFileSync(f, 'utf8')).join('|');
// wait: milliseconds to sleep, 'file:<path>' (until that file exists) or 'starts:<n>' (until n steps started).
const until = (ready) => new Promise((r) => { const poll = () => (ready() ? r() : setTimeout(poll, 20)); poll(); });
const started = () => readFileSync(process.env.RUNS_LOG, 'utf8').split('\\n').filter((l) => / start /.test(l)).length;
if (wait.startsWith('file:')) await until(() => existsSync(wait.slice(5)));
else if (wait.startsWith('starts:')) await until(() => started() >= Number(wait.slice(7)));
else await new Promise((r) => setTimeout(r, Number(wait)));
if (process.env.FAIL_STEP === name) { console.error('something went wrong in ' + name); console.error('error: boom at line 3'); process.exit(3); }
writeFileSync(output, process.env.CONSTANT_OUTPUT === name ? 'constant' : name + '(' + body + ')');
appendFileSync(process.env.RUNS_LOG, name + ' end ' + Date.now() + '\\n');
`;

/** `wait`: milliseconds to sleep, `file:<path>` (until the test creates it) or `starts:<n>` (until n steps started). */
export interface StepSpec {
  name: string;
  inputs?: string[];
  deps?: string[];
  sleep?: number;
  wait?: string;
}

export function writeProject(dir: string, steps: StepSpec[], extra = ''): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'step.mjs'), STEP_SCRIPT);
  const lines = steps.map((s) => {
    const deps = (s.deps ?? []).map((d) => `${d}.out`);
    const inputs = (s.inputs ?? []).map((i) => JSON.stringify(i));
    return `const ${s.name} = command({ argv: [process.execPath, 'step.mjs', '${s.name}', out('${s.name}.txt'), '${s.wait ?? s.sleep ?? 0}', ${[...inputs, ...deps].join(', ')}], inputs: ['step.mjs', ${inputs.join(', ')}], outputs: ['${s.name}.txt'], env: ['FAIL_STEP', 'CONSTANT_OUTPUT', 'RUNS_LOG'] });`;
  });
  writeFileSync(
    join(dir, 'kiln.config.ts'),
    `import { defineConfig, command, out } from 'kiln';
${lines.join('\n')}
${extra}
export default defineConfig({ name: 'graph-test', components: { ${steps.map((s) => s.name).join(', ')} } });
`,
  );
}

export function runs(dir: string): string[] {
  const path = join(dir, 'runs.log');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(' end ') || / end \d+$/.test(l))
    .map((l) => l.split(' ')[0]!);
}

export function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
