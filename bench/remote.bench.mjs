// examples/kozo from an empty local cache: cold (no remote) vs remote-warm (another checkout folder,
// empty local cache, a warm server) — the goal of issue #21 is remote-warm >= 4x faster than cold.
// The server is Debian's nginx with WebDAV PUT on a loopback port (bench/_nginx.mjs), started and
// stopped here. Each run: (1) cold build in folder A without a remote; (2) the same with the remote,
// uploading (its cost over (1) is the upload's); (3) a build in folder B (another absolute path,
// same development key) from the warm server; (4) the same read-only, as a pull request builds.
// The toolchains' own caches (~/.cache/zig, kiln's Rust sysroots) stay as they are in every case.
// Prints median wall times, the ratios, and what ran in (3).
// Usage: RUNS=3 node bench/remote.bench.mjs
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx } from './_nginx.mjs';
import { benchDir, median, repo, runs } from './_setup.mjs';

const example = join(repo, 'examples', 'kozo');
const kiln = join(repo, 'bin', 'kiln.js');
const root = join(benchDir, 'remote');
rmSync(root, { recursive: true, force: true });
const a = join(root, 'machine-a', 'kozo');
const b = join(root, 'machine-b', 'another', 'folder', 'kozo');
for (const d of [a, b]) {
  mkdirSync(d, { recursive: true });
  cpSync(example, d, {
    recursive: true,
    filter: (src) => !/\/(build|\.kiln|target)(\/|$)/.test(src.slice(example.length)),
  });
}

// SHARE_PATH_DEPENDENT=1: the config says remoteCache.sharePathDependent (local-only steps are shared too;
// kozo has none since Zig runs through kiln's canonical folder).
const sharePathDependent = process.env.SHARE_PATH_DEPENDENT === '1';
if (sharePathDependent) {
  for (const d of [a, b]) {
    const file = join(d, 'kiln.config.ts');
    const text = readFileSync(file, 'utf8');
    const patched = "name: 'kozo',\n  remoteCache: { url: 'http://127.0.0.1:9', sharePathDependent: true },";
    writeFileSync(file, text.replace("name: 'kozo',", patched));
  }
}
// KILN_REMOTE_CACHE=off: no remote unless --remote-cache says one (the config's URL is not used).
const env = { ...process.env, CI: 'true', NO_COLOR: '1', KILN_REMOTE_CACHE: 'off' };

/** A build from an empty local cache (the dev key in .kiln/keys stays): wall ms and its summary lines. */
function build(dir, extra = []) {
  rmSync(join(dir, 'build'), { recursive: true, force: true });
  rmSync(join(dir, '.kiln', 'cache'), { recursive: true, force: true });
  rmSync(join(dir, '.kiln', 'plans'), { recursive: true, force: true });
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [kiln, 'build', '--allow-dev-key', '--plain', ...extra], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`kiln build in ${dir} failed (${r.status}): ${r.stderr}`);
  return { ms, lines: r.stderr.trim().split('\n') };
}

const server = await startNginx(join(root, 'server'));
try {
  // A first build makes A's development key; B signs with the same one (as a team's CI would).
  build(a);
  mkdirSync(join(b, '.kiln'), { recursive: true });
  cpSync(join(a, '.kiln', 'keys'), join(b, '.kiln', 'keys'), { recursive: true });
  const cold = [];
  const upload = [];
  const warm = [];
  const readOnly = [];
  let warmLines = [];
  let readOnlyLines = [];
  let uploadLines = [];
  for (let i = 0; i < runs; i++) {
    cold.push(build(a).ms);
    rmSync(server.root, { recursive: true, force: true });
    mkdirSync(server.root, { recursive: true });
    chmodSync(server.root, 0o777); // nginx's workers write here (mkdir's mode is cut by the umask)
    const up = build(a, ['--remote-cache', server.url]);
    upload.push(up.ms);
    uploadLines = up.lines;
    if (up.lines.some((l) => /warning: remote cache/.test(l)))
      throw new Error(`the upload failed: ${up.lines.join('\n')}`);
    const w = build(b, ['--remote-cache', server.url]);
    warm.push(w.ms);
    warmLines = w.lines;
    // As a pull request builds: read-only, so whatever it builds itself is not uploaded.
    const ro = build(b, ['--remote-cache', server.url, '--remote-cache-read-only']);
    readOnly.push(ro.ms);
    readOnlyLines = ro.lines;
  }
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    `examples/kozo x86_64-release${sharePathDependent ? ', sharePathDependent' : ''}, ${runs} runs (medians), this machine (load ${(await import('node:os')).loadavg()[0].toFixed(1)})`,
  );
  console.log(`  cold, no remote:             ${s(median(cold))}`);
  console.log(
    `  cold, uploading:             ${s(median(upload))}  (${uploadLines.filter((l) => /remote cache/.test(l)).join('; ')})`,
  );
  console.log(
    `  remote-warm, other folder:   ${s(median(warm))}  (${warmLines.filter((l) => /remote cache|ok in/.test(l)).join('; ')})`,
  );
  console.log(
    `  remote-warm, read-only:      ${s(median(readOnly))}  (${readOnlyLines.filter((l) => /remote cache|ok in/.test(l)).join('; ')})`,
  );
  console.log(
    `  speed-up cold / remote-warm: ${(median(cold) / median(warm)).toFixed(2)}x, read-only ${(median(cold) / median(readOnly)).toFixed(2)}x (goal >= 4x)`,
  );
  console.log('  steps that ran in the remote-warm build:');
  for (const l of warmLines.filter((x) => /\] built /.test(x))) console.log(`    ${l}`);
} finally {
  await server.stop();
}
