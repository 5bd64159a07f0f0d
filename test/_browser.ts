// A real browser for HTML the project writes: Debian's headless Chromium (scripts/setup.mjs installs
// it). `openInChromium` loads a page, takes a screenshot and collects what the page logged to its
// console; `decodePng` reads the screenshot back (8-bit RGB/RGBA, non-interlaced, as Chromium writes).
import { existsSync, readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tool } from './_helpers.js';

export interface PageLoad {
  status: number | null;
  /** Console messages Chromium logged (`CONSOLE(...)`/`Uncaught`/`Failed to load` lines). */
  console: string[];
  screenshot: string;
}

export const CHROMIUM = '/usr/bin/chromium';

/** Loads `file` in headless Chromium and writes a `width`×`height` screenshot to `png`. */
export function openInChromium(file: string, png: string, width = 1200, height = 1600): PageLoad {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/setup.mjs does)`);
  const r = tool(
    [
      CHROMIUM,
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--enable-logging=stderr',
      '--v=0',
      `--screenshot=${png}`,
      `--window-size=${width},${height}`,
      `file://${file}`,
    ],
    { timeoutMs: 120_000 },
  );
  const lines = `${r.stdout}\n${r.stderr}`.split('\n');
  return {
    status: r.status,
    console: lines.filter((l) => /CONSOLE\(|Uncaught|Failed to load resource|net::ERR_/.test(l)),
    screenshot: png,
  };
}

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel. */
  pixels: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA PNG. */
export function decodePng(file: string): Image {
  const b = readFileSync(file);
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (at < b.length) {
    const len = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    const data = b.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      if (!channels) throw new Error(`PNG color type ${data[9]} not handled`);
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? cur[i - channels]! : 0;
      const up = prev[i]!;
      const ul = i >= channels ? prev[i - channels]! : 0;
      const x = line[i]!;
      let v: number;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + left;
      else if (filter === 2) v = x + up;
      else if (filter === 3) v = x + ((left + up) >> 1);
      else {
        const p = left + up - ul;
        const pa = Math.abs(p - left);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - ul);
        v = x + (pa <= pb && pa <= pc ? left : pb <= pc ? up : ul);
      }
      cur[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      out[o] = cur[x * channels]!;
      out[o + 1] = cur[x * channels + 1]!;
      out[o + 2] = cur[x * channels + 2]!;
      out[o + 3] = channels === 4 ? cur[x * channels + 3]! : 255;
    }
    prev = cur;
  }
  return { width, height, pixels: out };
}

/** Pixels within `tolerance` of an RGB color, counted per row. */
export function rowsWithColor(img: Image, rgb: [number, number, number], tolerance = 24): number[] {
  const counts = new Array<number>(img.height).fill(0);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * 4;
      if (
        Math.abs(img.pixels[o]! - rgb[0]) <= tolerance &&
        Math.abs(img.pixels[o + 1]! - rgb[1]) <= tolerance &&
        Math.abs(img.pixels[o + 2]! - rgb[2]) <= tolerance
      )
        counts[y]!++;
    }
  }
  return counts;
}
