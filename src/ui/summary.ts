// Text for the end of a run, shared by the presenters.
import { formatSeconds } from '../commands/common.js';
import type { RunSummary, StageSummary } from '../events.js';
import { formatItemError } from './errors.js';
import { reasonText } from './reasons.js';

export function stageLine(s: StageSummary, width: number): string {
  const name = s.name.padEnd(width);
  if (s.wouldRun !== undefined) {
    // A dry run: what would happen, and why.
    const items = s.items && s.items.ran > 0 ? `  (${s.items.ran} of ${s.items.total} items)` : '';
    const head = `${name}  ${s.state === 'would-run' ? 'would run' : 'fresh'}${items}`;
    return [head, ...reasonText(s.wouldRun).map((r) => `${' '.repeat(width)}    - ${r}`)].join('\n');
  }
  const items = s.items ? `  ${s.items.total} items: ${s.items.ran} ran, ${s.items.cached} cached${s.items.pulled ? `, ${s.items.pulled} pulled` : ''}${s.items.failed ? `, ${s.items.failed} failed` : ''}` : '';
  return `${name}  ${s.state.padEnd(7)} ${formatSeconds(s.seconds).padStart(6)}${items}`;
}

export function finalLines(r: RunSummary): string[] {
  const lines: string[] = [];
  const failures = r.stages.flatMap((s) => (s.failures ?? []).map((f) => ({ stage: s.name, f, noun: s.itemNoun })));
  if (failures.length > 0) {
    lines.push(`${failures.length} item${failures.length === 1 ? '' : 's'} failed:`);
    for (const { stage, f, noun } of failures.slice(0, 20)) lines.push(`  ${stage}: ${formatItemError(f, noun)}`);
    if (failures.length > 20) lines.push(`  ... and ${failures.length - 20} more (pipeline show ${r.run ?? 'latest'})`);
  }
  for (const s of r.stages) {
    if (s.state === 'failed' && s.error) lines.push(`stage ${s.name} failed: ${s.error}`);
  }
  if (r.notes.length > 0) lines.push('', ...r.notes);
  if (r.interrupted) lines.push('interrupted: finished items are cached; run again to continue');
  if (r.run) lines.push('', `run ${r.run} ${r.ok ? 'ok' : 'failed'} in ${formatSeconds(r.seconds)}`);
  if (r.dryRun) {
    const n = r.stages.filter((s) => s.state === 'would-run').length;
    lines.push('', n === 0 ? 'dry run: nothing would run' : `dry run: ${n} stage${n === 1 ? '' : 's'} would run; nothing was changed`);
  }
  return lines;
}
