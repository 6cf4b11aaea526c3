import { describe, expect, it } from 'vitest';
import { editConfig } from '../../src/config/edit.js';
import { diffOverlay } from '../../src/config/overlay.js';
import { parseConfig } from '../../src/config/parse.js';
import { patchText } from '../../src/config/text-patch.js';

const TEXT = `# the live config
services:
  - name: svc                 # the service
    host: blue                # the live colour
    path: /api
    routes:
      - paths: ["/"]
upstreams:
  - name: blue    # cluster X
    targets: [{ target: "a:1" }]
  - name: green
    targets:
      - target: b:1
`;

function config(text: string) {
  const r = parseConfig(text, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** Patch TEXT to match `edit`, and check the result parses to exactly that config. */
function patched(edit: Parameters<typeof editConfig>[1]): string | undefined {
  const before = config(TEXT);
  const after = editConfig(before, edit);
  const out = patchText(TEXT, diffOverlay(before, after));
  if (out !== undefined) expect(config(out)).toEqual(after);
  return out;
}

describe('patchText', () => {
  it('changes a scalar in place, keeping every other byte', () => {
    const out = patched((d) => void (d.services[0].host = 'green'));
    expect(out).toBe(TEXT.replace('host: blue                # the', 'host: green               # the'));
  });

  it('adds and removes keys at the entity\'s indentation, and rewrites flow collections in place', () => {
    const withSplit = patched((d) => {
      d.services[0].split = { blue: 90, green: 10 };
      d.upstreams[0].targets.push({ target: 'c:1', weight: 0 });
    });
    expect(withSplit).toContain('    split: {blue: 90, green: 10}\n');
    expect(withSplit).toContain('targets: [{target: a:1, weight: 100}, {target: c:1, weight: 0}]  '.trim());
    expect(withSplit).toContain('  - name: svc                 # the service\n    host: blue                # the live colour\n');
    const removed = patched((d) => void delete d.services[0].path);
    expect(removed).not.toContain('path: /api');
    expect(removed).toContain('    host: blue                # the live colour\n    routes:');
  });

  it('writes and steps a rollout block, changing only its step when it moves on', () => {
    const rollout = {
      to: 'green', steps: [10, 100], interval: 1000, analysis: { max_error_rate: 0.01, max_p99_ms: 500, min_requests: 100 },
      failure_threshold: 2, on_failure: 'rollback' as const, gate: 'auto' as const, max_inconclusive: 5, on_restart: 'resume' as const,
      state: 'running' as const, step: 1, failures: 0,
    };
    const before = config(TEXT);
    const started = editConfig(before, (d) => void (d.services[0].rollout = rollout));
    const text = patchText(TEXT, diffOverlay(before, started))!;
    expect(config(text)).toEqual(started);
    expect(text).toMatch(/\n    rollout:\n      to: green\n/);
    const stepped = editConfig(started, (d) => void (d.services[0].rollout!.failures = 1));
    const again = patchText(text, diffOverlay(config(text), stepped))!;
    expect(config(again)).toEqual(stepped);
    expect(again.replace('failures: 1', 'failures: 0')).toBe(text);
  });

  it('leaves what it cannot do in place to the caller (a block sequence)', () => {
    expect(patched((d) => void d.upstreams[1].targets.push({ target: 'd:1', weight: 1 }))).toBeUndefined();
  });
});
