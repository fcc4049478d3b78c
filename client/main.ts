/**
 * The bonestream browser client: video on a canvas with the newest bone surface over it, as a
 * line drawn in screen pixels (the canvas is sized to its element × devicePixelRatio, so the
 * line stays crisp and anti-aliased at any zoom), and the mask itself as an optional fill.
 *
 * URL options set the toolbar's starting values: `?colour=ff0000&width=3&fill=1`.
 *
 * Alignment: by default the newest frame is drawn (live video, no added delay) with the
 * newest mask over it, and a note says how many frames behind the video the mask is; with
 * "sync to mask" the frame the mask was computed from is drawn instead (kept by seq), so the
 * overlay is exact and the video runs late by the mask latency.
 */
import type { SurfacePoint } from '../src/surface/types.js';
import { decodeBinary, type HelloMessage, type MaskHeader, type TextMessage, type StatusMessage } from '../src/wire/protocol.js';
import { RateMeter } from '../src/wire/rate.js';

/**
 * Mask age thresholds: amber past LATE_MS (the overlay may lag a moving probe; a CPU ViT is
 * usually here), red past STALE_MS (masks have stopped coming or fallen far behind).
 */
const LATE_MS = 1000;
const STALE_MS = 3000;
/** Frames kept for "sync to mask": about three seconds of video at 30 frames/s. */
const KEPT_FRAMES = 90;
const RECONNECT_MS = { initial: 500, max: 10_000 };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('view');
const context = canvas.getContext('2d')!;
const overlay = document.createElement('canvas');
const overlayContext = overlay.getContext('2d', { willReadFrequently: true })!;
const ui = {
  backend: $('backend'),
  sourceState: $('source-state'),
  fpsIn: $('fps-in'),
  masksPerSecond: $('masks-per-s'),
  maskAge: $('mask-age'),
  opacity: $<HTMLInputElement>('opacity'),
  colour: $<HTMLInputElement>('colour'),
  lineWidth: $<HTMLInputElement>('line-width'),
  fill: $<HTMLInputElement>('fill'),
  sync: $<HTMLInputElement>('sync'),
  fullscreen: $<HTMLButtonElement>('fullscreen'),
  connection: $('connection'),
  note: $('note'),
  banner: $('banner'),
};
/** Toolbar fields that describe the server's state: none of them is known while disconnected. */
const STATUS_FIELDS = [ui.backend, ui.sourceState, ui.fpsIn, ui.masksPerSecond, ui.maskAge];

const query = new URLSearchParams(location.search);
const token = query.get('token');
applyUrlOptions(query);
const frames = new Map<number, ImageBitmap>();
let newestFrame = -1;
let mask: { header: MaskHeader; pixels: Uint8ClampedArray; polylines: SurfacePoint[][]; receivedAt: number } | undefined;
const fpsIn = new RateMeter();
const masksIn = new RateMeter();
let reconnectWait = RECONNECT_MS.initial;
/**
 * Between a close and the next hello nothing on screen is current: the picture is dimmed, the
 * mask hidden, and a banner says how long ago the last mask came (a bedside display must not
 * look live when it is not).
 */
let online = false;
let lastMaskAt: number | undefined;
/** Why the source is not running (from hello or status), shown over the picture. */
let sourceProblem: string | undefined;

function connect(): void {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const ws = new WebSocket(`${scheme}//${location.host}/stream${query}`);
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') onText(JSON.parse(event.data) as TextMessage);
    else onBinary(new Uint8Array(event.data as ArrayBuffer)).catch((error) => setConnection(`bad message: ${error}`, true));
  };
  ws.onopen = () => setConnection('connected');
  ws.onclose = (event) => {
    const why = event.code === 1001 ? 'server stopped' : event.code === 1006 ? 'connection lost' : `closed (${event.code})`;
    setConnection(`${why}; reconnecting in ${(reconnectWait / 1000).toFixed(1)} s`, true);
    goOffline();
    setTimeout(connect, reconnectWait);
    reconnectWait = Math.min(reconnectWait * 2, RECONNECT_MS.max);
  };
}

function onText(message: TextMessage): void {
  switch (message.type) {
    case 'hello':
      reconnectWait = RECONNECT_MS.initial;
      onHello(message);
      break;
    case 'status':
      showStatus(message);
      break;
    case 'error':
      setConnection(`server: ${message.message}`, true);
      break;
    case 'ack':
      break;
  }
}

function goOffline(): void {
  if (!online) return;
  online = false;
  document.body.classList.add('offline');
  for (const field of STATUS_FIELDS) {
    field.textContent = 'unknown';
    field.className = 'unknown';
  }
  ui.note.textContent = '';
  draw();
  showBanner();
}

function onHello(hello: HelloMessage): void {
  online = true;
  document.body.classList.remove('offline');
  // A restarted server counts frames from 0 again: forget the previous connection's.
  for (const bitmap of frames.values()) bitmap.close();
  frames.clear();
  newestFrame = -1;
  mask = undefined;
  ui.maskAge.textContent = '–';
  ui.maskAge.className = '';
  if (hello.source.width && hello.source.height) {
    overlay.width = hello.source.width;
    overlay.height = hello.source.height;
  }
  showBackend(hello.backend, hello.model, hello.backendState);
  showSource(hello.source.state, hello.source.detail);
}

function showStatus(status: StatusMessage): void {
  showBackend(status.backend.name, status.backend.model, status.backend.state);
  showSource(status.source.state, status.source.detail);
}

function showSource(state: string, detail?: string): void {
  ui.sourceState.textContent = state;
  ui.sourceState.className = state === 'running' ? '' : 'bad';
  // The reason can be long (a path and an ffmpeg message): over the picture, not in the toolbar.
  sourceProblem = state === 'running' ? undefined : `source ${state}${detail ? `: ${detail}` : ''}`;
  showBanner();
}

/** The banner over the picture: the connection when it is lost, else a source that is not running. */
function showBanner(): void {
  const since = lastMaskAt === undefined ? 'no mask received yet' : `last mask ${formatAge(performance.now() - lastMaskAt)} ago`;
  const text = online ? sourceProblem : `NOT LIVE: no connection to the server (${since})`;
  ui.banner.hidden = text === undefined;
  ui.banner.textContent = text ?? '';
}

function formatAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function showBackend(name: string, model: string, state: string): void {
  const physics = name === 'physics';
  ui.backend.textContent = `${physics ? 'PHYSICS (not the ViT)' : model}${state === 'running' ? '' : ` – ${state}`}`;
  ui.backend.className = physics ? 'physics' : state === 'running' ? '' : 'bad';
}

async function onBinary(data: Uint8Array): Promise<void> {
  const decoded = decodeBinary(data);
  const { header, payload } = decoded;
  if (header.type === 'frame') {
    fpsIn.mark();
    const bitmap = await createImageBitmap(new Blob([payload as BlobPart], { type: 'image/jpeg' }));
    frames.set(header.seq, bitmap);
    newestFrame = Math.max(newestFrame, header.seq);
    for (const seq of frames.keys()) {
      if (frames.size <= KEPT_FRAMES) break;
      frames.get(seq)!.close();
      frames.delete(seq);
    }
    if (header.seq === newestFrame) draw();
  } else {
    masksIn.mark();
    const bitmap = await createImageBitmap(new Blob([payload as BlobPart], { type: 'image/png' }));
    // Decoding is asynchronous: a mask that finished after a newer one is dropped.
    if (mask && header.seq < mask.header.seq) {
      bitmap.close();
      return;
    }
    overlay.width = header.width;
    overlay.height = header.height;
    overlayContext.drawImage(bitmap, 0, 0);
    bitmap.close();
    const pixels = overlayContext.getImageData(0, 0, header.width, header.height).data;
    mask = { header, pixels, polylines: 'polylines' in decoded ? decoded.polylines : [], receivedAt: performance.now() };
    lastMaskAt = mask.receivedAt;
    paintOverlay();
    draw();
  }
}

/** Turns the 0/255 mask into the chosen colour with alpha where the mask is set. */
function paintOverlay(): void {
  if (!mask) return;
  const [r, g, b] = hexColour(ui.colour.value);
  const image = overlayContext.createImageData(mask.header.width, mask.header.height);
  for (let i = 0; i < image.data.length; i += 4) {
    const on = mask.pixels[i] > 127;
    image.data[i] = r;
    image.data[i + 1] = g;
    image.data[i + 2] = b;
    image.data[i + 3] = on ? 255 : 0;
  }
  overlayContext.putImageData(image, 0, 0);
}

function draw(): void {
  const sync = ui.sync.checked && mask !== undefined && frames.has(mask.header.seq);
  const seq = sync ? mask!.header.seq : newestFrame;
  const frame = frames.get(seq);
  if (!frame) return;
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  // The frame fitted into the canvas, centred, aspect kept (what object-fit: contain did).
  const scale = Math.min(width / frame.width, height / frame.height);
  const box = { x: (width - frame.width * scale) / 2, y: (height - frame.height * scale) / 2, scale };
  context.fillStyle = '#000';
  context.fillRect(0, 0, width, height);
  context.globalAlpha = 1;
  context.drawImage(frame, box.x, box.y, frame.width * scale, frame.height * scale);
  // A mask of another size belongs to the picture before the source changed size: not drawn over this one.
  const registered = mask !== undefined && mask.header.width === frame.width && mask.header.height === frame.height;
  if (mask && online && !registered) ui.note.textContent = `waiting for a mask at the new size, ${frame.width}×${frame.height}`;
  if (mask && online && registered) {
    if (ui.fill.checked || mask.polylines.length === 0) {
      context.globalAlpha = Number(ui.opacity.value);
      context.drawImage(overlay, box.x, box.y, frame.width * scale, frame.height * scale);
      context.globalAlpha = 1;
    }
    strokeSurface(mask.polylines, box, dpr);
    const behind = newestFrame - mask.header.seq;
    ui.note.textContent = sync
      ? `video delayed to the mask's frame ${mask.header.seq} (${behind} frames behind live)`
      : `mask from frame ${mask.header.seq}, ${behind} frame${behind === 1 ? '' : 's'} behind the video`;
  }
}

/**
 * The surface as a line in canvas (device) pixels: a point (x, y) is the centre of source
 * pixel (x, y), so it lands at box + (x + 0.5) × scale; the width is in CSS pixels.
 */
function strokeSurface(polylines: SurfacePoint[][], box: { x: number; y: number; scale: number }, dpr: number): void {
  context.strokeStyle = ui.colour.value;
  context.lineWidth = lineWidth() * dpr;
  context.lineJoin = 'round';
  context.lineCap = 'round';
  context.beginPath();
  for (const line of polylines) {
    line.forEach((point, i) => {
      const x = box.x + (point.x + 0.5) * box.scale;
      const y = box.y + (point.y + 0.5) * box.scale;
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
  }
  context.stroke();
}

function lineWidth(): number {
  const value = Number(ui.lineWidth.value);
  return Number.isFinite(value) && value > 0 ? Math.min(value, 12) : 2;
}

/** `colour` (hex, with or without #), `width` (line, CSS px) and `fill` (1/0) from the page's URL; bad values are ignored. */
function applyUrlOptions(params: URLSearchParams): void {
  const colour = params.get('colour');
  if (colour && /^#?[0-9a-f]{6}$/i.test(colour)) ui.colour.value = `#${colour.replace('#', '').toLowerCase()}`;
  const width = Number(params.get('width'));
  if (params.has('width') && width >= 0.5 && width <= 12) ui.lineWidth.value = String(width);
  if (params.has('fill')) ui.fill.checked = params.get('fill') !== '0';
}

function showStats(): void {
  if (!online) return showBanner();
  ui.fpsIn.textContent = fpsIn.perSecond().toFixed(1);
  ui.masksPerSecond.textContent = masksIn.perSecond().toFixed(1);
  if (mask) {
    const age = mask.header.latencyMs + performance.now() - mask.receivedAt;
    ui.maskAge.textContent = `${Math.round(age)} ms`;
    ui.maskAge.className = age > STALE_MS ? 'bad' : age > LATE_MS ? 'warn' : '';
  }
}

function setConnection(text: string, bad = false): void {
  ui.connection.textContent = text;
  ui.connection.className = bad ? 'bad' : '';
}

function hexColour(hex: string): [number, number, number] {
  const value = parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

ui.colour.addEventListener('input', () => {
  paintOverlay();
  draw();
});
ui.opacity.addEventListener('input', draw);
ui.lineWidth.addEventListener('input', draw);
ui.fill.addEventListener('change', draw);
// The canvas follows its element and the screen's pixel density (window resize, zoom, full screen).
new ResizeObserver(() => draw()).observe(canvas);
ui.sync.addEventListener('change', draw);
ui.fullscreen.addEventListener('click', () => {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void document.documentElement.requestFullscreen();
});
setInterval(showStats, 500);
connect();
