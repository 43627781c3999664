/** Runs the real Lookout process (src/main.ts through tsx) and finds its URL in the start-up log. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { captureProcess } from './log-capture.js';

export interface Running {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM and wait; resolves with the exit code, or the signal's name when a signal ended it. */
  stop: () => Promise<number | string | null>;
  kill9: () => Promise<void>;
}

export function runLookout(
  env: Record<string, string>,
  args: string[] = [],
): {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  out: { stdout: string; stderr: string };
} {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  proc.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // 'close' comes after the last output, so nothing the process printed is missed.
  proc.on('close', () => captureProcess(env, out.stdout + out.stderr));
  return { proc, exited, out };
}

export async function startLookout(env: Record<string, string>, timeoutMs = 20_000): Promise<Running> {
  const { proc, exited, out } = runLookout(env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Lookout did not start:\n${out.stdout}\n${out.stderr}`)),
      timeoutMs,
    );
    const onData = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out.stdout);
      if (m) {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        resolve(m[1] as string);
      }
    };
    proc.stdout?.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`Lookout exited with ${code}:\n${out.stdout}\n${out.stderr}`));
    });
  });
  return {
    proc,
    url,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    stop: async () => {
      proc.kill('SIGTERM');
      const { code, signal } = await exited;
      return code ?? signal;
    },
    kill9: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
