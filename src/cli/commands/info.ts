/**
 * `lazylens info`: which backend lazylens runs on here and, for WebGPU, the adapter and the limits
 * that shape the work (the per-binding limit matrix products are split to). Loads no model.
 */
import type { Command } from 'commander';
import { backendInfo, ensureBackend, type BackendInfo } from '../../backend/index.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import type { GlobalOptions } from '../session.js';

function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${bytes} (${(bytes / 2 ** 20).toFixed(0)} MiB)` : 'no limit';
}

/** The report as text: one row per fact, then why faster backends were passed over. */
export function infoText(info: BackendInfo): string {
  const rows: [string, string][] = [['backend', info.backend]];
  const a = info.adapter;
  if (a) {
    rows.push(
      ['adapter', a.description || a.device || '(unnamed)'],
      ['device', a.device || '-'],
      ['vendor', a.vendor || '-'],
      ['architecture', a.architecture || '-'],
      ['feature level', a.featureLevel],
      ['found through', a.source],
      ['maxStorageBufferBindingSize', mib(a.limits.maxStorageBufferBindingSize)],
      ['maxBufferSize', mib(a.limits.maxBufferSize)],
      ['maxComputeWorkgroupStorageSize', String(a.limits.maxComputeWorkgroupStorageSize)],
      ['maxComputeInvocationsPerWorkgroup', String(a.limits.maxComputeInvocationsPerWorkgroup)],
    );
  }
  rows.push(['binding limit in use', mib(info.maxBindingBytes)]);
  if (info.planningBindingBytes !== info.maxBindingBytes) {
    rows.push(['matMuls split to', mib(info.planningBindingBytes)]);
  }
  const passed = info.passedOver.map((l) => `  passed over ${l}\n`).join('');
  return `${table(['', ''], rows).split('\n').slice(1).join('\n')}${passed}`;
}

export function registerInfo(program: Command, io: Io): void {
  program
    .command('info')
    .description('show the backend in use and, for webgpu, its adapter and limits')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      await ensureBackend();
      const info = await backendInfo();
      io.out(
        opts.json
          ? `${JSON.stringify(info, (_k, v: unknown) => (v === Infinity ? null : v), 2)}\n`
          : infoText(info),
      );
    });
}
