// A Bazel-style HTTP cache server for the remote-cache tests and bench/remote.bench.mjs: Debian's nginx with WebDAV PUT on a loopback port,
// run in the foreground (`daemon off;`) as `nginx -c CONF -p DIR`, stopped by the test. Its workers
// run as an unprivileged user, so the served and temporary folders are world-writable and their
// parents traversable. The access log records each request's method, path, status and
// Authorization header (to prove a token reached the server).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** A free loopback port (the listener is closed before nginx binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Makes `dir` and every parent up to `/` traversable by nginx's workers. */
function openUpTo(dir) {
  for (let d = dir; d !== dirname(d); d = dirname(d)) chmodSync(d, 0o755);
}

/** Starts nginx serving `<dir>/store` on a free loopback port. */
export async function startNginx(dir) {
  if (!existsSync(NGINX))
    throw new Error(`${NGINX} is missing: apt-get install nginx-core (scripts/setup.mjs installs it)`);
  const root = join(dir, 'store');
  for (const d of [dir, root, join(dir, 'tmp'), join(dir, 'logs')]) mkdirSync(d, { recursive: true });
  openUpTo(dir);
  chmodSync(root, 0o777);
  chmodSync(join(dir, 'tmp'), 0o777);
  const port = await freePort();
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
    (t) => `  ${t}_temp_path ${join(dir, 'tmp', t)};`,
  );
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 64; }
http {
  log_format kiln '$request_method $uri $status auth=$http_authorization';
  access_log ${join(dir, 'logs', 'access.log')} kiln;
${temps.join('\n')}
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:rw all:r;
    }
  }
}
`,
  );
  const child = spawn(NGINX, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
    try {
      await fetch(`${url}/ready`);
      break;
    } catch {
      if (i > 100) throw new Error(`nginx did not answer on ${url}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    root,
    accessLog: () => {
      const file = join(dir, 'logs', 'access.log');
      return existsSync(file) ? readFileSync(file, 'utf8') : '';
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
