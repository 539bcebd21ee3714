/**
 * Finding a WebGPU adapter for tfjs-backend-webgpu, in a browser (its own `navigator.gpu`) or in
 * Node (Dawn through the optional `webgpu` package). tfjs-backend-webgpu registers itself only when
 * `navigator.gpu` exists at import time, and its factory asks for an adapter with nothing but a power
 * preference; so in Node the WebGPU globals and a `navigator.gpu` are installed first, and that
 * `navigator.gpu` repeats the request options that found an adapter here (a compatibility-mode
 * adapter is only returned to a request that names that feature level).
 */
import { firstLine } from '../util/firstLine.js';

/** The subset of WebGPU's adapter limits lazylens reports and plans with. */
export interface GpuLimits {
  /** Bytes one storage-buffer binding may span: the largest tensor one kernel can read or write. */
  readonly maxStorageBufferBindingSize: number;
  /** Bytes one buffer may hold. */
  readonly maxBufferSize: number;
  /** Bytes of workgroup-shared memory one kernel may use. */
  readonly maxComputeWorkgroupStorageSize: number;
  /** Threads one workgroup may run. */
  readonly maxComputeInvocationsPerWorkgroup: number;
  /** Workgroups one dispatch may launch along each dimension. */
  readonly maxComputeWorkgroupsPerDimension: number;
}

/** What the WebGPU adapter lazylens runs on says about itself. */
export interface GpuAdapterReport {
  /** The adapter's vendor, e.g. `nvidia`, `mesa`. */
  readonly vendor: string;
  /** The vendor's name for the GPU family, when it gives one. */
  readonly architecture: string;
  /** The device, when the adapter names it. */
  readonly device: string;
  /** A human-readable description (e.g. `llvmpipe (LLVM 19.1.7, 256 bits)`). */
  readonly description: string;
  /** `core`, or `compatibility` for an adapter with the restricted compatibility-mode feature set. */
  readonly featureLevel: 'core' | 'compatibility';
  /** Where the adapter came from: the browser, or Dawn in Node with its default or OpenGL ES backend. */
  readonly source: 'browser' | 'dawn' | 'dawn-opengles';
  /** The limits kernels must respect on this adapter. */
  readonly limits: GpuLimits;
}

// Minimal WebGPU shapes: the DOM lib of this TypeScript has no WebGPU types, and the package's own
// types would make a type-only dependency on an optional package.
interface Adapter {
  readonly info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>>;
  readonly limits: Record<string, number>;
}
interface AdapterOptions {
  powerPreference?: 'high-performance' | 'low-power';
  featureLevel?: 'core' | 'compatibility';
}
interface Gpu {
  requestAdapter(options?: AdapterOptions): Promise<Adapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

const HIGH: AdapterOptions = { powerPreference: 'high-performance' };
const COMPAT: AdapterOptions = { powerPreference: 'high-performance', featureLevel: 'compatibility' };

/** The adapter found, how to ask for it again, and what it reports. */
interface Found {
  readonly report: GpuAdapterReport;
}

let found: Promise<Found> | undefined;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function navigatorGpu(): Gpu | undefined {
  return (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
}

function report(
  adapter: Adapter,
  featureLevel: GpuAdapterReport['featureLevel'],
  source: GpuAdapterReport['source'],
): GpuAdapterReport {
  const info = adapter.info ?? {};
  const l = adapter.limits;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    featureLevel,
    source,
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  };
}

/** Asks `gpu` for a high-performance adapter, then a compatibility-mode one. */
async function ask(gpu: Gpu): Promise<{ adapter: Adapter; options: AdapterOptions } | undefined> {
  for (const options of [HIGH, COMPAT]) {
    const adapter = await gpu.requestAdapter(options);
    if (adapter) return { adapter, options };
  }
  return undefined;
}

// Packages are imported by computed names so bundlers and tsc do not require them to exist.
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

async function loadDawn(): Promise<DawnModule> {
  let dawn: DawnModule;
  try {
    dawn = (await importOptional('webgpu')) as DawnModule;
  } catch (e) {
    throw new Error(`the optional 'webgpu' package (Dawn for Node) did not load: ${firstLine(e)}`, {
      cause: e,
    });
  }
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
  }
  return dawn;
}

/** Makes `navigator.gpu` hand tfjs-backend-webgpu adapters asked for with `options` added. */
function installNavigatorGpu(gpu: Gpu, options: AdapterOptions): void {
  shim = { requestAdapter: (o) => gpu.requestAdapter({ ...o, ...options }) };
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: shim, configurable: true });
  else {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: shim, userAgent: `Node.js/${process.versions.node}` },
      configurable: true,
      writable: true,
    });
  }
}

/**
 * Dawn in Node with `flags`: its default backends (Vulkan, Metal, D3D12), or `backend=opengles`,
 * which runs on Mesa's llvmpipe with no display when EGL uses its surfaceless platform (only
 * compatibility mode is offered there).
 */
async function findInNode(opengles: boolean): Promise<Found> {
  const dawn = await loadDawn();
  if (opengles) process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = dawn.create(opengles ? ['backend=opengles'] : []);
  const hit = await ask(gpu);
  if (!hit) {
    throw new Error(
      opengles
        ? 'Dawn found no adapter through OpenGL ES either (is Mesa installed: libegl-mesa0, libgles2, libgl1-mesa-dri?)'
        : 'Dawn found no GPU adapter (none through Vulkan, Metal or D3D12)',
    );
  }
  installNavigatorGpu(gpu, hit.options);
  const level = hit.options.featureLevel === 'compatibility' ? 'compatibility' : 'core';
  return { report: report(hit.adapter, level, opengles ? 'dawn-opengles' : 'dawn') };
}

/**
 * Whether Linux can load a Vulkan loader, read from the dynamic linker's cache and
 * LD_LIBRARY_PATH. Without one Dawn's default search can only fail, and it says so on stderr, so
 * an automatic choice skips it.
 */
async function hasVulkanLoader(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const fs = await import('node:fs');
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`))) return true;
  try {
    return fs.readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

async function findInBrowser(gpu: Gpu): Promise<Found> {
  const hit = await ask(gpu);
  if (!hit) throw new Error('navigator.gpu returned no adapter');
  const level = hit.options.featureLevel === 'compatibility' ? 'compatibility' : 'core';
  return { report: report(hit.adapter, level, 'browser') };
}

let hardware: Promise<Found> | undefined;
/** The `navigator.gpu` installed here in Node (a runtime's own one is anything else). */
let shim: Gpu | undefined;
let software: Promise<Found> | undefined;

/** Options of {@link findGpuAdapter}. */
export interface FindAdapterOptions {
  /**
   * Also accept a software adapter (Dawn's OpenGL ES backend on Mesa's llvmpipe) when no GPU is
   * found. Default false: an automatic choice wants a GPU or nothing.
   */
  readonly software?: boolean;
}

/**
 * Finds a WebGPU adapter (once per process and kind) and makes it the one tfjs-backend-webgpu will
 * get; later calls return the same report, or the same failure.
 * @throws Error saying why no adapter was found.
 */
export async function findGpuAdapter(options: FindAdapterOptions = {}): Promise<GpuAdapterReport> {
  const nav = navigatorGpu();
  const own = nav !== shim ? nav : undefined;
  if (!hardware) {
    if (!own && isNode() && !options.software && !(await hasVulkanLoader())) {
      // Not remembered: a later explicit request still asks Dawn itself.
      throw new Error('no GPU adapter: no Vulkan loader (libvulkan.so.1) on this machine');
    }
    hardware = own
      ? findInBrowser(own)
      : isNode()
        ? findInNode(false)
        : Promise.reject(new Error('no navigator.gpu in this runtime'));
    found = hardware;
  }
  try {
    return (await hardware).report;
  } catch (e) {
    if (!options.software || !isNode() || own) throw e;
  }
  software ??= findInNode(true);
  found = software;
  return (await software).report;
}

/** The adapter report when an adapter was found already, without starting a search. */
export async function foundGpuAdapter(): Promise<GpuAdapterReport | undefined> {
  if (!found) return undefined;
  return found.then(
    (f) => f.report,
    () => undefined,
  );
}

/** Whether an adapter is a software or compatibility-only one (slower than wasm for most work). */
export function isSoftwareAdapter(r: GpuAdapterReport): boolean {
  return (
    r.featureLevel === 'compatibility' ||
    /llvmpipe|swiftshader|software/i.test(`${r.device} ${r.description}`)
  );
}
