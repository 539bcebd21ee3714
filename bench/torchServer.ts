/**
 * A PyTorch process kept alive for a whole benchmark (bench/torch_forward.py --serve): it builds
 * its model once and times one run per request, so the benchmark can alternate lazylens and
 * PyTorch run by run. This machine's speed drifts by tens of percent over minutes (it is shared);
 * alternating at that grain puts the drift on both sides of each ratio.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** What the server answers, one JSON line per request. */
interface Answer {
  ready?: boolean;
  seconds?: number;
}

export class TorchServer {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly exited: Promise<void>;

  private constructor(script: string) {
    const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
    this.child = spawn('/usr/bin/python3', [path, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  /** Starts bench/<script> --serve and waits until its model is built. */
  static async start(script: string): Promise<TorchServer> {
    const server = new TorchServer(script);
    const hello = await server.next();
    if (!hello.ready) throw new Error(`${script} --serve did not say it was ready`);
    return server;
  }

  /** Sends one request and returns the seconds it answers. */
  async seconds(request: Record<string, string | number>): Promise<number> {
    const answer = this.next();
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const { seconds } = await answer;
    if (seconds === undefined) throw new Error(`no seconds for ${JSON.stringify(request)}`);
    return seconds;
  }

  /** Ends the process and waits for it. */
  async close(): Promise<void> {
    this.child.stdin.end();
    await this.exited;
  }

  private next(): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`PyTorch server exited (${code})`));
      this.child.once('exit', onExit);
      this.waiting.push((line) => {
        this.child.off('exit', onExit);
        resolve(JSON.parse(line) as Answer);
      });
    });
  }
}
