/**
 * The transport under each console: serial0 is QEMU's stdin/stdout (`-serial stdio`), serial1 and
 * virtcon are unix sockets QEMU listens on (`-chardev socket,server=on,wait=off`, connected before
 * the VM runs so nothing is lost), and the monitor is QMP's `human-monitor-command` (one command a
 * line; its output is appended to the monitor console after a `(qemu) command` echo line).
 */
import { createWriteStream } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ConsoleBuffer, type ConsoleChannel } from './console.js';
import type { QemuProcess } from './launch.js';
import type { QmpClient } from './qmp.js';
import type { ConsoleName, ResolvedMachine } from './types.js';

function writeTo(stream: NodeJS.WritableStream, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(bytes, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * serial0 over QEMU's stdin; the caller pushes QEMU's stdout chunks into `buffer`.
 * @example const ch = serialStdioChannel(qemu); qemu started with { input: true }
 */
export function serialStdioChannel(qemu: Pick<QemuProcess, 'child'>, buffer = new ConsoleBuffer()): ConsoleChannel {
  return {
    buffer,
    write: async (bytes) => {
      const stdin = qemu.child.stdin;
      if (!stdin || stdin.destroyed) throw new Error("QEMU's standard input (serial0) is closed");
      await writeTo(stdin, bytes);
    },
  };
}

async function connectSocket(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => {
          s.removeAllListeners('error');
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A console behind a unix socket QEMU listens on; its output is also logged to `logFile`. */
export async function socketChannel(
  path: string,
  logFile: string,
  timeoutMs = 10_000,
): Promise<ConsoleChannel & { close(): void }> {
  const socket = await connectSocket(path, timeoutMs);
  const buffer = new ConsoleBuffer();
  const log = createWriteStream(logFile);
  socket.on('data', (chunk: Buffer) => {
    log.write(chunk);
    buffer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  socket.on('error', () => undefined);
  socket.on('close', () => log.end());
  return {
    buffer,
    write: (bytes) => writeTo(socket, bytes),
    close: () => socket.destroy(),
  };
}

/**
 * QEMU's human monitor through QMP: text written is split into lines, each line runs as a monitor
 * command, and `(qemu) line` plus its output land in the buffer (so `expect` sees the answer).
 */
export function monitorChannel(qmp: QmpClient): ConsoleChannel {
  const buffer = new ConsoleBuffer();
  let pending = '';
  const decoder = new TextDecoder();
  return {
    buffer,
    write: async (bytes) => {
      pending += decoder.decode(bytes, { stream: true });
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        buffer.push(`(qemu) ${line}\n`);
        const out = await qmp.humanMonitorCommand(line);
        buffer.push(out.endsWith('\n') || out === '' ? out : `${out}\n`);
      }
    },
  };
}

/** Channels for a started machine: serial0 always, the others as the machine asked for them. */
export async function connectChannels(
  machine: ResolvedMachine,
  qemu: QemuProcess,
  serial0: ConsoleBuffer,
  qmp: QmpClient | undefined,
  wanted: readonly ConsoleName[],
): Promise<{ channels: Map<ConsoleName, ConsoleChannel>; close(): void }> {
  const channels = new Map<ConsoleName, ConsoleChannel>([['serial0', serialStdioChannel(qemu, serial0)]]);
  const closers: Array<() => void> = [];
  for (const name of ['serial1', 'virtcon'] as const) {
    const path = machine.consoleSockets?.[name];
    if (!path) continue;
    const ch = await socketChannel(path, join(machine.logDir, `${name}.log`));
    channels.set(name, ch);
    closers.push(ch.close);
  }
  if (qmp && (wanted.includes('monitor') || machine.testMode)) channels.set('monitor', monitorChannel(qmp));
  return { channels, close: () => closers.forEach((c) => c()) };
}
