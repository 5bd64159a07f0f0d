// The least any Node program does for the CPIO and GPT jobs, as a reference row in the benchmarks:
// kiln cannot be faster than Node starting up and moving the same bytes with the same system calls.
//   node bench/node-floor.mjs walk-copy DIR OUT   walk DIR (readdir + lstat), read every file into
//                                                  one 2 MiB buffer, write it to OUT (no headers)
//   node bench/node-floor.mjs copy IN OUT OFFSET  read IN in 2 MiB pieces, write them at OFFSET in OUT
import { closeSync, lstatSync, openSync, readSync, readdirSync, writeSync } from 'node:fs';

const [mode, a, b, c] = process.argv.slice(2);
const buf = new Uint8Array(2 << 20);
const out = openSync(b, 'w');
let len = 0;
let pos = mode === 'copy' ? Number(c) : 0;
const flush = () => {
  for (let done = 0; done < len;) done += writeSync(out, buf, done, len - done, pos + done);
  pos += len;
  len = 0;
};
const copyFile = (path, size) => {
  const fd = openSync(path, 'r');
  for (let done = 0; done < size;) {
    if (len === buf.length) flush();
    const got = readSync(fd, buf, len, Math.min(size - done, buf.length - len), done);
    if (got === 0) break;
    len += got;
    done += got;
  }
  closeSync(fd);
};
if (mode === 'walk-copy') {
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = `${dir}/${name}`;
      const s = lstatSync(path);
      if (s.isDirectory()) walk(path);
      else if (s.isFile()) copyFile(path, s.size);
    }
  };
  walk(a);
} else if (mode === 'copy') {
  copyFile(a, lstatSync(a).size);
} else {
  throw new Error(`unknown mode ${mode}`);
}
flush();
closeSync(out);
