#!/usr/bin/env node
// Idempotent setup for kiln's development and tests on Debian/Ubuntu:
//  1. the Debian packages kiln's toolchain steps, QEMU harness and reference validators need;
//  2. Debian's rustc-web 1.96 unpacked into /opt/kiln-rust-web (the -Zbuild-std route's test);
//  3. the npm dependencies (npm ci when node_modules is missing or older than package-lock.json).
// As root it installs what is missing; otherwise it prints the exact command. With CI=true a
// missing tool is an error, never a silent skip.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (line) => {
  if (!quiet) process.stderr.write(`setup: ${line}\n`);
};

// package -> a file it installs (checked instead of asking dpkg, which is slower)
const DEBIAN = {
  'qemu-system-x86': '/usr/bin/qemu-system-x86_64',
  'qemu-system-arm': '/usr/bin/qemu-system-aarch64',
  'qemu-utils': '/usr/bin/qemu-img',
  ovmf: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  'qemu-efi-aarch64': '/usr/share/AAVMF/AAVMF_CODE.fd',
  nasm: '/usr/bin/nasm',
  clang: '/usr/bin/clang',
  lld: '/usr/bin/ld.lld',
  llvm: '/usr/bin/llvm-objcopy',
  binutils: '/usr/bin/readelf',
  cmake: '/usr/bin/cmake',
  'ninja-build': '/usr/bin/ninja',
  gdb: '/usr/bin/gdb',
  // The host gdb debugs x86 only: gdb-multiarch for kiln run --gdb on aarch64 kernels (and its tests).
  'gdb-multiarch': '/usr/bin/gdb-multiarch',
  gcc: '/usr/bin/gcc',
  // openssl: an independent Ed25519 verifier in the signing tests.
  openssl: '/usr/bin/openssl',
  git: '/usr/bin/git',
  // nginx with WebDAV PUT: the HTTP remote-cache server of the remote-cache tests (started on loopback by the test).
  'nginx-core': '/usr/sbin/nginx',
  'grub-pc-bin': '/usr/lib/grub/i386-pc/moddep.lst',
  'grub-efi-amd64-bin': '/usr/lib/grub/x86_64-efi/moddep.lst',
  'grub-common': '/usr/bin/grub-mkimage',
  xorriso: '/usr/bin/xorriso',
  genisoimage: '/usr/bin/isoinfo',
  mtools: '/usr/bin/mcopy',
  dosfstools: '/usr/sbin/fsck.fat',
  gdisk: '/usr/sbin/sgdisk',
  fdisk: '/usr/sbin/sfdisk',
  cpio: '/usr/bin/cpio',
  // libarchive's bsdtar: a second, independent ISO9660/Rock Ridge/Joliet reader for the ISO tests.
  'libarchive-tools': '/usr/bin/bsdtar',
  // Debian's Rust 1.63 with rust-src: lets kiln build core/alloc sysroots for custom targets offline.
  rustc: '/usr/bin/rustc',
  cargo: '/usr/bin/cargo',
  'rust-src': '/usr/lib/rustlib/src/rust/library/core/Cargo.toml',
  'librust-compiler-builtins-dev': '/usr/share/cargo/registry',
  // rustc-web's LLVM (a shared library rustc-web links), and patchelf for the unpacked copy below.
  libllvm22: '/usr/lib/x86_64-linux-gnu/libLLVM.so.22.1',
  patchelf: '/usr/bin/patchelf',
  // Headless Chromium: the HTML status report is checked in a real browser (ENVIRONMENT.md has the flags).
  chromium: '/usr/bin/chromium',
};

// Debian's newer Rust (rustc-web, cargo-web, rust-web-src: 1.96 with the standard library's
// dependencies vendored) is the toolchain that runs cargo's -Zbuild-std offline here. It conflicts
// with Debian's rustc 1.63 (the sysroot route), so it is unpacked into its own folder, never
// installed; rustc finds its sysroot from its own path and its librustc_driver through an RPATH.
const RUST_WEB_DIR = process.env.KILN_RUST_WEB_DIR ?? '/opt/kiln-rust-web';
const RUST_WEB_PACKAGES = [
  'rustc-web',
  'cargo-web',
  'rust-web-src',
  'libstd-rust-web-1.96',
  'libstd-rust-web-dev',
  'rust-web-llvm',
];

function missingPackages() {
  return Object.entries(DEBIAN)
    .filter(([, file]) => !existsSync(file))
    .map(([pkg]) => pkg);
}

function installDebian() {
  const missing = missingPackages();
  if (missing.length === 0) {
    say('Debian packages: all present');
    return;
  }
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
    if (!sudo) {
      const message = `missing Debian packages: ${missing.join(' ')}\n  install them with: sudo sh -c '${command}'`;
      if (process.env.CI === 'true' || process.env.CI === '1') {
        process.stderr.write(`setup: error: ${message}\n`);
        process.exit(1);
      }
      say(`warning: ${message}`);
      return;
    }
  }
  say(`installing ${missing.join(' ')}`);
  const prefix = isRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const aptGet = (args) => {
    const argv = [...prefix, 'apt-get', ...args];
    const r = spawnSync(argv[0], argv.slice(1), { stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) {
      process.stderr.write(`setup: error: ${argv.join(' ')} failed (exit ${r.status})\n`);
      process.exit(1);
    }
  };
  aptGet(['update', '-qq']);
  aptGet(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  const still = missingPackages();
  if (still.length) {
    process.stderr.write(`setup: error: still missing after install: ${still.join(' ')}\n`);
    process.exit(1);
  }
}

function installNpm() {
  const lock = join(root, 'package-lock.json');
  const marker = join(root, 'node_modules', '.package-lock.json');
  // A git worktree sharing another checkout's node_modules through a link: npm ci would empty the
  // shared folder for every checkout using it.
  if (existsSync(join(root, 'node_modules')) && lstatSync(join(root, 'node_modules')).isSymbolicLink()) {
    say("npm dependencies: node_modules is a link to another checkout's: not reinstalling here");
    return;
  }
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) {
    say('npm dependencies: up to date');
    return;
  }
  say('installing npm dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function installRustWeb() {
  const rustc = join(RUST_WEB_DIR, 'usr/bin/rustc');
  if (existsSync(rustc) && spawnSync(rustc, ['-V'], { stdio: 'ignore' }).status === 0) {
    say(`rustc-web (for -Zbuild-std): present in ${RUST_WEB_DIR}`);
    return;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    const message = `rustc-web is not unpacked in ${RUST_WEB_DIR} (the -Zbuild-std test needs it): run node scripts/setup.mjs as root`;
    if (process.env.CI === 'true' || process.env.CI === '1') {
      process.stderr.write(`setup: error: ${message}\n`);
      process.exit(1);
    }
    say(`warning: ${message}`);
    return;
  }
  say(`unpacking ${RUST_WEB_PACKAGES.join(' ')} into ${RUST_WEB_DIR}`);
  const debs = join(RUST_WEB_DIR, '.debs');
  mkdirSync(debs, { recursive: true });
  const step = (argv, cwd) => {
    const r = spawnSync(argv[0], argv.slice(1), { cwd, stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) {
      process.stderr.write(`setup: error: ${argv.join(' ')} failed (exit ${r.status})\n`);
      process.exit(1);
    }
  };
  step(['apt-get', 'download', ...RUST_WEB_PACKAGES], debs);
  for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb')))
    step(['dpkg-deb', '-x', join(debs, deb), RUST_WEB_DIR]);
  for (const bin of ['rustc', 'rustdoc'])
    step(['patchelf', '--set-rpath', '$ORIGIN/../lib/x86_64-linux-gnu', join(RUST_WEB_DIR, 'usr/bin', bin)]);
  rmSync(debs, { recursive: true, force: true });
}

installDebian();
installRustWeb();
installNpm();
