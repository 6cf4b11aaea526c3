import { describe, expect, it } from 'vitest';
import { editConfig } from '../../src/config/schema/edit.js';
import { diffOverlay } from '../../src/config/persist/overlay.js';
import { parseConfig } from '../../src/config/load/parse.js';
import { patchText } from '../../src/config/persist/text-patch.js';

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
      - target: b:1   # rack 3
        weight: 100
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

  it("adds and removes keys at the entity's indentation, and rewrites flow collections in place", () => {
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
      to: 'green',
      steps: [10, 100],
      interval: 1000,
      analysis: { max_error_rate: 0.01, max_p99_ms: 500, min_requests: 100, metrics: [] },
      failure_threshold: 2,
      on_failure: 'rollback' as const,
      gate: 'auto' as const,
      max_inconclusive: 5,
      on_restart: 'resume' as const,
      gates: [],
      state: 'running' as const,
      step: 1,
      failures: 0,
    };
    const before = config(TEXT);
    const started = editConfig(before, (d) => void (d.services[0].rollout = rollout));
    const text = patchText(TEXT, diffOverlay(before, started))!;
    expect(config(text)).toEqual(started);
    expect(text).toMatch(/\n {4}rollout:\n {6}to: green\n/);
    const stepped = editConfig(started, (d) => void (d.services[0].rollout!.failures = 1));
    const again = patchText(text, diffOverlay(config(text), stepped))!;
    expect(config(again)).toEqual(stepped);
    expect(again.replace('failures: 1', 'failures: 0')).toBe(text);
  });

  it('edits block lists item by item: a new weight, an added and a removed target keep the other lines', () => {
    const reweighted = patched((d) => void (d.upstreams[1].targets[0].weight = 0));
    expect(reweighted).toContain('      - target: b:1   # rack 3\n        weight: 0\n');
    const added = patched((d) => void d.upstreams[1].targets.push({ target: 'd:1', weight: 1 }));
    expect(added).toContain('      - target: b:1   # rack 3\n        weight: 100\n      - target: d:1\n        weight: 1\n');
    const before = config(added!);
    const removed = patchText(
      added!,
      diffOverlay(
        before,
        editConfig(before, (d) => void d.upstreams[1].targets.splice(1, 1)),
      ),
    );
    expect(removed).toBe(TEXT);
  });

  it('leaves anchored values and merge keys to the caller, since editing them would change other entries', () => {
    const anchored = TEXT.replace('host: blue                # the live colour', 'host: &live blue          # the live colour');
    const before = config(anchored);
    expect(
      patchText(
        anchored,
        diffOverlay(
          before,
          editConfig(before, (d) => void (d.services[0].host = 'green')),
        ),
      ),
    ).toBeUndefined();
  });

  it('keeps CRLF line endings when it adds lines', () => {
    const crlf = TEXT.replace(/\n/g, '\r\n');
    const before = config(crlf);
    const out = patchText(
      crlf,
      diffOverlay(
        before,
        editConfig(before, (d) => void (d.services[0].split = { blue: 1, green: 1 })),
      ),
    )!;
    expect(out.replace(/\r\n/g, '')).not.toContain('\n');
    expect(config(out).services[0].split).toEqual({ blue: 1, green: 1 });
  });
});
