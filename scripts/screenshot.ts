/**
 * Full-page PNG screenshot of a local HTML file with headless Chromium (Debian: `apt-get install -y
 * chromium`), driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
 * separated by NUL bytes on file descriptors 3 and 4), so no browser-automation package is needed.
 * Chromium's own `--screenshot` captures one window only; here the page's laid-out content size
 * (Page.getLayoutMetrics) sets the capture, so the whole report is in the picture however long it is.
 *
 *   node --import tsx scripts/screenshot.ts PAGE.html OUT.png [WIDTH]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable, Writable } from 'node:stream';

export interface ScreenshotResult { png: string; width: number; height: number }

/** Writes a full-page screenshot of `html` to `png` at `width` CSS pixels (default 1320). */
export async function screenshot(html: string, png: string, opts: { width?: number; chromium?: string; timeoutMs?: number } = {}): Promise<ScreenshotResult> {
  const width = opts.width ?? 1320;
  const child = spawn(opts.chromium ?? 'chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--remote-debugging-pipe', `--window-size=${width},1000`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const toBrowser = child.stdio[3] as Writable, fromBrowser = child.stdio[4] as Readable;
  const pending = new Map<number, { ok: (v: Record<string, unknown>) => void; fail: (e: Error) => void }>();
  const events: { method: string; sessionId?: string }[] = [];
  let waiters: (() => void)[] = [];
  let buf = '';
  let nextId = 1;
  const gone = new Promise<never>((_, reject) => {
    child.on('error', (e) => reject(new Error(`chromium could not start (${e.message}); install it: apt-get install -y chromium`)));
    child.on('exit', (code) => reject(new Error(`chromium exited (code ${code}) before the screenshot: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  gone.catch(() => {});
  fromBrowser.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let k;
    while ((k = buf.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buf.slice(0, k)) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; sessionId?: string };
      buf = buf.slice(k + 1);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.fail(new Error(`chromium: ${msg.error.message}`));
        else p?.ok(msg.result ?? {});
      } else if (msg.method) {
        events.push({ method: msg.method, sessionId: msg.sessionId });
        const w = waiters;
        waiters = [];
        w.forEach((f) => f());
      }
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    Promise.race([
      gone,
      new Promise<Record<string, unknown>>((ok, fail) => {
        const id = nextId++;
        pending.set(id, { ok, fail });
        toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
      }),
    ]);
  const waitFor = async (method: string, sessionId: string) => {
    while (!events.some((e) => e.method === method && e.sessionId === sessionId)) await Promise.race([gone, new Promise<void>((r) => waiters.push(r))]);
  };
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  try {
    const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await send('Page.enable', {}, sessionId);
    await send('Emulation.setDeviceMetricsOverride', { width, height: 1000, deviceScaleFactor: 1, mobile: false }, sessionId);
    await send('Page.navigate', { url: pathToFileURL(resolve(html)).href }, sessionId);
    await waitFor('Page.loadEventFired', sessionId);
    const m = (await send('Page.getLayoutMetrics', {}, sessionId)) as { cssContentSize: { width: number; height: number } };
    const height = Math.ceil(m.cssContentSize.height);
    const shotWidth = Math.max(width, Math.ceil(m.cssContentSize.width));
    const { data } = (await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: shotWidth, height, scale: 1 } }, sessionId)) as { data: string };
    writeFileSync(png, Buffer.from(data, 'base64'));
    await send('Browser.close').catch(() => {});
    return { png, width: shotWidth, height };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [html, png, w] = process.argv.slice(2);
  if (!html || !png) {
    console.error('usage: node --import tsx scripts/screenshot.ts PAGE.html OUT.png [WIDTH]');
    process.exit(2);
  }
  const r = await screenshot(html, resolve(png), { width: w ? Number(w) : undefined });
  console.log(`${r.png}: ${r.width} x ${r.height} px (full page)`);
}
