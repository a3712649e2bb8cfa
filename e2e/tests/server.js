// Starts and stops the real Parley binary for the browser tests.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Repository root. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The server binary (built by `make build`); PARLEY_BIN overrides it. */
export const BINARY = process.env.PARLEY_BIN || path.join(ROOT, 'bin', 'parley');

/** How long the server may take to answer /healthz, and to exit on SIGTERM. */
const START_DEADLINE_MS = 20000;
const STOP_DEADLINE_MS = 15000;
const POLL_MS = 50;

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One server process, which can be stopped and started again on the same port and data folder. */
export class Server {
  /**
   * @param {{port: number, dataDir: string, args?: string[], scheme?: 'http'|'https', ca?: string}} opts
   *   ca: the PEM certificate to trust for https
   */
  constructor({ port, dataDir, args = [], scheme = 'http', ca }) {
    this.port = port;
    this.dataDir = dataDir;
    this.args = args;
    this.scheme = scheme;
    this.ca = ca;
    this.proc = null;
    this.output = '';
    this.exited = null;
  }

  /** Base address of the server, e.g. http://127.0.0.1:41234. */
  get url() {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** Starts the binary and resolves once /healthz answers 200. */
  async start() {
    const args = ['-addr', `127.0.0.1:${this.port}`, '-data', this.dataDir, ...this.args];
    const proc = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (chunk) => {
      this.output = (this.output + chunk.toString()).slice(-20000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    let gone = null;
    this.exited.then((r) => { gone = r; });
    const deadline = Date.now() + START_DEADLINE_MS;
    while (Date.now() < deadline) {
      if (gone) throw new Error(`parley exited (${JSON.stringify(gone)}) before it was healthy:\n${this.output}`);
      if (await this.#healthy()) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await this.stop();
    throw new Error(`parley did not answer /healthz within ${START_DEADLINE_MS} ms:\n${this.output}`);
  }

  #healthy() {
    const client = this.scheme === 'https' ? https : http;
    return new Promise((resolve) => {
      const req = client.get(`${this.url}/healthz`, { ca: this.ca, timeout: 1000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  }

  /**
   * Sends SIGTERM to this process (by its PID) and waits for it to exit;
   * SIGKILL if it overstays the deadline.
   * @returns {Promise<{code: number|null, signal: string|null}>}
   */
  async stop() {
    const proc = this.proc;
    if (!proc) return { code: null, signal: null };
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) {
      process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
      }, STOP_DEADLINE_MS);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }
}

/**
 * Starts a server on a free port with a fresh data folder and a raised login
 * rate. Call dispose() in an after hook: it stops the server and removes the
 * folder.
 * @param {{args?: string[], scheme?: 'http'|'https', ca?: string}} [opts]
 */
export async function startServer(opts = {}) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-'));
  const args = opts.args ?? [];
  const server = new Server({
    port: await freePort(),
    dataDir,
    args: args.includes('-login-rate') ? args : ['-login-rate', '1000', ...args],
    scheme: opts.scheme,
    ca: opts.ca,
  });
  try {
    await server.start();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  server.dispose = async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  return server;
}
