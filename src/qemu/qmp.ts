/**
 * A small QMP client (QEMU Machine Protocol, docs/interop/qmp-spec: JSON objects, one per line,
 * over a unix socket; greeting, `qmp_capabilities`, then commands with `return`/`error` replies
 * and asynchronous `event`s).
 */
import { connect, type Socket } from 'node:net';
import { KilnError } from '../errors.js';

/** An asynchronous QMP event (`SHUTDOWN`, `RESET`, `STOP`, ...). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void; command: string };

/** One QMP line: the greeting, an asynchronous event, or the reply (`return` or `error`) to the oldest command. */
type QmpMessage =
  | { kind: 'greeting'; greeting: Record<string, unknown> }
  | { kind: 'event'; event: QmpEvent }
  | { kind: 'return'; value: unknown }
  | { kind: 'error'; class?: string; desc?: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An event as QMP sends it: `event` a string, `data` an object, `timestamp` seconds and microseconds. */
function isQmpEvent(value: Record<string, unknown>): value is Record<string, unknown> & QmpEvent {
  const { event, data, timestamp } = value;
  return (
    typeof event === 'string' &&
    (data === undefined || isObject(data)) &&
    (timestamp === undefined ||
      (isObject(timestamp) && typeof timestamp.seconds === 'number' && typeof timestamp.microseconds === 'number'))
  );
}

/** Parses one line of QMP; undefined for anything that is none of its messages (not JSON, or another shape). */
function parseQmpMessage(line: string): QmpMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  if ('QMP' in value) return { kind: 'greeting', greeting: isObject(value.QMP) ? value.QMP : {} };
  if ('event' in value) return isQmpEvent(value) ? { kind: 'event', event: value } : undefined;
  if ('error' in value) {
    const error = isObject(value.error) ? value.error : {};
    return {
      kind: 'error',
      ...(typeof error.class === 'string' ? { class: error.class } : {}),
      ...(typeof error.desc === 'string' ? { desc: error.desc } : {}),
    };
  }
  if ('return' in value) return { kind: 'return', value: value.return };
  return undefined;
}

/**
 * QMP connection. Connect with `QmpClient.connect(path)`; events arrive through `onEvent`.
 * @example
 * const qmp = await QmpClient.connect('build/logs/qmp.sock', { timeoutMs: 5000 });
 * qmp.onEvent = (e) => console.log(e.event, e.data);
 * console.log(await qmp.execute('query-status'));           // { running: true, status: 'running' }
 * console.log(await qmp.humanMonitorCommand('info registers'));
 * await qmp.quit();
 */
export class QmpClient {
  /** Called for each event as it arrives (set it to listen). */
  onEvent: ((event: QmpEvent) => void) | undefined;
  /** Every event received, in order. */
  readonly events: QmpEvent[] = [];
  greeting: Record<string, unknown> | undefined;
  private buffer = '';
  private readonly pending: Pending[] = [];
  private closed = false;
  private closeError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.receive(text));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('QMP connection closed')));
  }

  /** Connects (retrying until the socket exists or `timeoutMs` passes) and negotiates capabilities. */
  static async connect(path: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<QmpClient> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (options.signal?.aborted) break;
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.handshake();
        return client;
      } catch (error) {
        lastError = error;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    throw new KilnError(
      'QMP_CONNECT_FAILED',
      `could not connect to QMP at ${path}: ${(lastError as Error)?.message ?? 'timed out'}`,
      { hint: 'QEMU may have exited before it opened its QMP socket; see its stderr' },
    );
  }

  private greetingWaiter: ((g: Record<string, unknown>) => void) | undefined;

  private async handshake(): Promise<void> {
    if (!this.greeting) {
      await new Promise<void>((resolve, reject) => {
        this.greetingWaiter = () => resolve();
        this.pending.push({ resolve: () => resolve(), reject, command: '(greeting)' });
      });
    }
    await this.execute('qmp_capabilities');
  }

  private receive(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      const message = parseQmpMessage(line);
      if (message) this.dispatch(message);
    }
  }

  private dispatch(message: QmpMessage): void {
    if (message.kind === 'greeting') {
      this.greeting = message.greeting;
      const waiter = this.greetingWaiter;
      this.greetingWaiter = undefined;
      if (waiter) {
        this.pending.shift();
        waiter(this.greeting);
      }
    } else if (message.kind === 'event') {
      this.events.push(message.event);
      this.onEvent?.(message.event);
    } else {
      const p = this.pending.shift();
      if (!p) return;
      if (message.kind === 'error')
        p.reject(new KilnError('QMP_ERROR', `QMP ${p.command}: ${message.class ?? 'Error'}: ${message.desc ?? ''}`));
      else p.resolve(message.value);
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error;
    for (const p of this.pending.splice(0)) p.reject(error);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs a QMP command; resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(this.closeError ?? new Error('QMP connection closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject, command });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  /** `query-status`: `{ running, status }` (status `running`, `paused`, `shutdown`, `guest-panicked`, ...). */
  queryStatus(): Promise<{ running: boolean; status: string }> {
    return this.execute('query-status');
  }

  /** Runs a human monitor command (e.g. `info registers`) and returns its text. */
  humanMonitorCommand(commandLine: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine });
  }

  /** Asks QEMU to exit; resolves when the request was sent (QEMU may close before replying). */
  async quit(): Promise<void> {
    try {
      await Promise.race([this.execute('quit'), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      /* QEMU closed the socket while quitting */
    }
  }

  /** Waits for an event by name (already received events count). */
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent | undefined> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const previous = this.onEvent;
      const timer = setTimeout(() => {
        this.onEvent = previous;
        resolve(undefined);
      }, timeoutMs);
      this.onEvent = (e) => {
        previous?.(e);
        if (e.event === name) {
          clearTimeout(timer);
          this.onEvent = previous;
          resolve(e);
        }
      };
    });
  }

  /** Closes the connection without asking QEMU to quit. */
  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
