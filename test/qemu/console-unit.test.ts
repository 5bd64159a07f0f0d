// The console machinery without QEMU: the buffer (escape sequences split across chunks,
// backspace erasing, the read cursor), waits that end with named errors, keys, and the text
// script format. The QEMU side is test/qemu/console.test.ts.
import { describe, expect, it } from 'vitest';
import {
  ConsoleBuffer,
  ConsoleError,
  ConsoleSession,
  keyBytes,
  unescapeText,
  type ConsoleChannel,
} from '../../src/qemu/console.js';
import { guest, parseScriptText, runScript } from '../../src/qemu/script.js';
import { KilnError } from '../../src/errors.js';

const bytes = (s: string) => new TextEncoder().encode(s);

/** A channel whose writes are recorded; `reply` feeds its buffer as a guest would. */
function fakeChannel(): ConsoleChannel & { written: number[]; writes: number } {
  const buffer = new ConsoleBuffer();
  const ch = {
    buffer,
    written: [] as number[],
    writes: 0,
    write: async (b: Uint8Array) => {
      ch.written.push(...b);
      ch.writes++;
    },
  };
  return ch;
}

describe('ConsoleBuffer', () => {
  it('strips escape sequences split across chunks and applies backspace erasing', () => {
    const b = new ConsoleBuffer();
    b.push(bytes('\x1b[2J\x1b[01'));
    b.push(bytes(';01H$ ech'));
    b.push(bytes('X\b \bo hi\r\n'));
    expect(b.unread()).toBe('$ echo hi\n');
  });

  it('an expect consumes up to its match: the same prompt is not matched twice', () => {
    const b = new ConsoleBuffer();
    b.push('$ ');
    expect(b.take('$ ')).toMatchObject({ text: '$ ', before: '' });
    expect(b.take('$ ')).toBeUndefined();
    b.push('ls\nREADME\n$ ');
    expect(b.take('$ ')).toMatchObject({ before: 'ls\nREADME\n' });
  });

  it('a console nobody reads keeps its memory bounded (the newest text stays)', () => {
    const b = new ConsoleBuffer(100);
    for (let i = 0; i < 100; i++) b.push(`${String(i).padStart(49, '.')}\n`);
    expect(b.unread().length).toBeLessThanOrEqual(400);
    expect(b.lastLines(1)).toEqual([String(99).padStart(49, '.')]);
  });

  it('a RegExp match that ends the unfinished line is unsettled until the console is quiet', () => {
    const b = new ConsoleBuffer();
    b.push('pid=1');
    expect(b.take(/pid=(\d+)/, false)).toBe('unsettled');
    b.push('077\n');
    expect(b.take(/pid=(\d+)/, false)).toMatchObject({ groups: ['1077'] });
  });
});

describe('ConsoleSession', () => {
  it('a capture waits for the whole number, not the first digit that arrived', async () => {
    const ch = fakeChannel();
    const session = new ConsoleSession(new Map([['serial0', ch]]), { timeout: 5 });
    ch.buffer.push('pid=1');
    const pending = session.expect(/pid=(\d+)/);
    setTimeout(() => ch.buffer.push('077'), 10);
    expect((await pending).groups[0]).toBe('1077');
  });

  it('a wait that times out names the pattern, the time and the last send, with the last lines', async () => {
    const ch = fakeChannel();
    const session = new ConsoleSession(new Map([['serial0', ch]]), { timeout: 5 });
    ch.buffer.push('boot\n$ ');
    await session.send('echo hi\n');
    const error = await session.expect(/^hi$/m, { timeout: 0.05 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toBe('expect /^hi$/m not seen within 0.05 s (after "echo hi\\n" was sent)');
    expect((error as ConsoleError).tail).toEqual(['boot', '$ ']);
    expect((error as KilnError).code).toBe('CONSOLE_TIMEOUT');
  });

  it('closing the session ends a wait with the reason', async () => {
    const ch = fakeChannel();
    const session = new ConsoleSession(new Map([['serial0', ch]]), { timeout: 5 });
    const wait = session.expect('never');
    session.close('QEMU exited (exit status 1)');
    await expect(wait).rejects.toThrow('expect "never" not seen before QEMU exited (exit status 1)');
  });

  it('a per-character delay writes one byte at a time; without it, one write', async () => {
    const ch = fakeChannel();
    const session = new ConsoleSession(new Map([['serial0', ch]]), { timeout: 5 });
    await session.send('abc', { charDelay: 1 });
    expect(ch.writes).toBe(3);
    await session.send('def');
    expect(ch.writes).toBe(4);
    expect(String.fromCharCode(...ch.written)).toBe('abcdef');
  });

  it('a console that was not started is a named error', async () => {
    const session = new ConsoleSession(new Map([['serial0', fakeChannel()]]), { timeout: 5 });
    expect(() => session.channel('serial1')).toThrow('console serial1 is not connected (connected: serial0)');
  });

  it('sends before the first expect are typed ahead: they happen before the VM is resumed', async () => {
    const ch = fakeChannel();
    const session = new ConsoleSession(new Map([['serial0', ch]]), { timeout: 5 });
    const order: string[] = [];
    ch.write = async (b) => {
      order.push(`write ${String.fromCharCode(...b)}`);
    };
    ch.buffer.push('ok');
    const r = await runScript(session, [guest.send('a'), guest.key('enter'), guest.expect('ok'), guest.send('b')], {
      timeout: 5,
      beforeWait: async () => void order.push('resume'),
    });
    expect(r.ok).toBe(true);
    expect(order).toEqual(['write a', 'write \r', 'resume', 'write b']);
  });

  it('runScript names the failed step, marks the rest not run, and reuses captured values', async () => {
    const ch = fakeChannel();
    const session = new ConsoleSession(new Map([['serial0', ch]]), { timeout: 5 });
    ch.buffer.push('pid=42\n$ ');
    const r = await runScript(
      session,
      [
        guest.capture(/pid=(\d+)\n/, 'pid'),
        guest.send((v) => `kill ${v.pid}\n`),
        guest.expect('killed', { timeout: 0.05 }),
        guest.send('x'),
      ],
      { timeout: 5 },
    );
    expect(String.fromCharCode(...ch.written)).toBe('kill 42\n');
    expect(r.ok).toBe(false);
    expect(r.message).toBe('step 3/4: expect "killed" not seen within 0.05 s (after "kill 42\\n" was sent)');
    expect(r.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'failed', 'not-run']);
    expect(r.captured).toEqual({ pid: '42' });
  });
});

describe('keys and escapes', () => {
  it('control keys and arrows are the bytes a terminal sends', () => {
    expect([...keyBytes('ctrl-c')!]).toEqual([3]);
    expect([...keyBytes('ctrl-]')!]).toEqual([0x1d]);
    expect([...keyBytes('up')!]).toEqual([0x1b, 0x5b, 0x41]);
    expect(keyBytes('ctrl-1')).toBeUndefined();
    expect(unescapeText('a\\tb\\x41\\n\\\\n')).toBe('a\tbA\n\\n');
  });
});

describe('the text script format', () => {
  it('parses verbs, options, regexes, escapes, quoted text and captured values', () => {
    const steps = parseScriptText(
      [
        '# a comment',
        'expect $ ',
        'send echo hi\\n',
        'expect timeout=5 /^hi$/m',
        'key ctrl-c',
        'send delay=3 "quoted "',
        'capture pid /pid=(\\d+)/',
        'send kill ${pid}\\n',
        'send to=monitor info status\\n',
        'expect on=monitor running',
      ].join('\n'),
      's.script',
    );
    expect(steps.slice(0, 6)).toEqual([
      { kind: 'expect', pattern: '$ ' },
      { kind: 'send', data: 'echo hi\n' },
      { kind: 'expect', pattern: /^hi$/m, timeout: 5 },
      { kind: 'key', key: 'ctrl-c' },
      { kind: 'send', data: 'quoted ', charDelay: 3 },
      { kind: 'capture', name: 'pid', pattern: /pid=(\d+)/ },
    ]);
    const fill = steps[6]!;
    expect(fill.kind === 'send' && typeof fill.data === 'function' ? fill.data({ pid: '7' }) : undefined).toBe(
      'kill 7\n',
    );
    expect(steps[7]).toEqual({ kind: 'send', data: 'info status\n', to: 'monitor' });
    expect(steps[8]).toEqual({ kind: 'expect', pattern: 'running', on: 'monitor' });
  });

  it('a bad line is SCRIPT_INVALID with the file and line number', () => {
    let error: unknown;
    try {
      parseScriptText('expect ok\nsned oops\n', 'shell.script');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KilnError);
    expect(error).toMatchObject({ code: 'SCRIPT_INVALID', location: { file: 'shell.script', line: 2 }, exitCode: 2 });
    expect((error as Error).message).toBe('unknown step "sned" (expect, send, key or capture): "sned oops"');
    expect(() => parseScriptText('key ctrl-1', 'f')).toThrow('unknown key "ctrl-1"');
    expect(() => parseScriptText('expect on=serial9 x', 'f')).toThrow(
      'on= expects serial0, serial1, virtcon or monitor',
    );
  });
});
