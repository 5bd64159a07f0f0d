/**
 * The body of a stream-optimized VMDK extent, per VMware "Virtual Disk Format 5.0"
 * (Stream-Optimized Compressed Sparse Extents: Grain, Metadata and End-of-Stream Markers, the
 * Footer): deflate (zlib) compressed grains each behind a grain marker, a grain table marker +
 * table after the grains it maps, the grain directory marker + directory, the footer marker +
 * footer (a copy of the header with the real gdOffset), and the end-of-stream marker. Written
 * front to back, so it needs no plan: the two-phase writer and the one-pass conversion share it.
 */
import { promisify } from 'node:util';
import { deflate as deflateCallback, type ZlibOptions } from 'node:zlib';
import {
  encodeMarker,
  encodeSparseHeader,
  GRAIN_SECTORS,
  GTES_PER_GT,
  MARKER_EOS,
  MARKER_FOOTER,
  MARKER_GD,
  MARKER_GT,
  SECTOR,
} from './_header.js';
import { GRAIN_BYTES, GRAIN_MARKER_BYTES, GT_BYTES, GT_SECTORS, type VmdkLayout } from './_layout.js';

const deflateAsync = promisify(deflateCallback) as (buf: Uint8Array, options: ZlibOptions) => Promise<Buffer>;

/**
 * zlib settings besides the level (QEMU's compress() uses the defaults, memLevel 8). memLevel 9
 * (zlib's largest hash table; the stream format does not depend on it) measured 22% faster on the
 * benchmark disk's grains with a slightly smaller output, and one output chunk that holds a whole
 * compressed grain spares four thread-pool round trips per grain (node:zlib's default is 16 KiB).
 */
const DEFLATE_OPTIONS: ZlibOptions = { memLevel: 9, chunkSize: 2 * GRAIN_BYTES };

/**
 * A grain's bytes as they are compressed (zlib format, on the thread pool): a copy (the caller's
 * view may be reused), the last partial grain zero-padded to a full grain.
 * @example const job = deflateGrain(view, 6);
 */
export function deflateGrain(bytes: Uint8Array, level: number): Promise<Uint8Array> {
  let grain: Uint8Array;
  if (bytes.length === GRAIN_BYTES) grain = bytes.slice();
  else {
    grain = new Uint8Array(GRAIN_BYTES);
    grain.set(bytes);
  }
  return deflateAsync(grain, { ...DEFLATE_OPTIONS, level }).then(
    (b) => new Uint8Array(b.buffer, b.byteOffset, b.length),
  );
}

/** Writes bytes at a file offset (a sink's `write`, or a synchronous file write). */
export type WriteAt = (offset: number, bytes: Uint8Array) => void | Promise<void>;

/** Buffers sequential writes into large ones. */
class SequentialWriter {
  private readonly write: WriteAt;
  private readonly buffer = new Uint8Array(4 << 20);
  private used = 0;
  private start: number;

  constructor(write: WriteAt, position: number) {
    this.write = write;
    this.start = position;
  }

  get position(): number {
    return this.start + this.used;
  }

  get sector(): number {
    return this.position / SECTOR;
  }

  async append(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length > this.buffer.length) await this.flush();
    if (bytes.length > this.buffer.length) {
      await this.write(this.start, bytes);
      this.start += bytes.length;
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Pads with zeros to the next sector boundary. */
  padToSector(): void {
    const pad = (SECTOR - (this.position % SECTOR)) % SECTOR;
    // A sector-aligned buffer always has room for the padding.
    this.buffer.fill(0, this.used, this.used + pad);
    this.used += pad;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.write(this.start, this.buffer.subarray(0, this.used));
    this.start += this.used;
    this.used = 0;
  }
}

/**
 * The body of a streamOptimized extent, emitted front to back from sector `header.overHead`:
 * each stored grain behind its grain marker, each grain table (marker + table) after the last
 * grain it maps, then the grain directory, the footer and the end-of-stream marker. Grains must
 * come in disk order; tables without grains are not written (directory entry 0).
 * @example
 * const body = new GrainStream(layout, (offset, bytes) => sink.write(offset, bytes));
 * await body.add(0, compressedGrain0);
 * const fileSize = await body.finish();
 */
export class GrainStream {
  private readonly layout: VmdkLayout;
  private readonly out: SequentialWriter;
  private readonly gd: Uint8Array;
  private readonly gt = new Uint8Array(GT_BYTES);
  private readonly marker = new Uint8Array(GRAIN_MARKER_BYTES);
  /** The table being filled, or -1; and the last grain added. */
  private table = -1;
  private last = -1;

  constructor(layout: VmdkLayout, write: WriteAt) {
    this.layout = layout;
    this.out = new SequentialWriter(write, layout.header.overHead * SECTOR);
    this.gd = new Uint8Array(layout.gdSectors * SECTOR);
  }

  /** Appends grain `index` (its deflate-compressed bytes). */
  async add(index: number, compressed: Uint8Array): Promise<void> {
    if (!(index > this.last && index < this.layout.grains))
      throw new RangeError(`"index" expected in (${this.last}, ${this.layout.grains}), got ${index}`);
    this.last = index;
    const table = Math.floor(index / GTES_PER_GT);
    if (table !== this.table) {
      await this.closeTable();
      this.table = table;
    }
    new DataView(this.gt.buffer).setUint32((index - table * GTES_PER_GT) * 4, this.out.sector, true);
    const view = new DataView(this.marker.buffer);
    view.setBigUint64(0, BigInt(index * GRAIN_SECTORS), true);
    view.setUint32(8, compressed.length, true);
    await this.out.append(this.marker);
    await this.out.append(compressed);
    this.out.padToSector();
  }

  private async closeTable(): Promise<void> {
    if (this.table < 0) return;
    await this.out.append(encodeMarker(GT_SECTORS, MARKER_GT));
    new DataView(this.gd.buffer).setUint32(this.table * 4, this.out.sector, true);
    await this.out.append(this.gt);
    this.gt.fill(0);
    this.table = -1;
  }

  /** Writes the last grain table, the directory, the footer and end-of-stream; returns the file size. */
  async finish(): Promise<number> {
    await this.closeTable();
    await this.out.append(encodeMarker(this.layout.gdSectors, MARKER_GD));
    const gdOffset = this.out.sector;
    await this.out.append(this.gd);
    await this.out.append(encodeMarker(1, MARKER_FOOTER));
    await this.out.append(encodeSparseHeader({ ...this.layout.header, gdOffset }));
    await this.out.append(encodeMarker(0, MARKER_EOS));
    await this.out.flush();
    return this.out.position;
  }
}
