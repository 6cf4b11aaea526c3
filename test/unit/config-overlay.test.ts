import { describe, expect, it } from 'vitest';
import { editConfig } from '../../src/config/schema/edit.js';
import { diffOverlay, isEmpty } from '../../src/config/persist/overlay.js';
import { patchText } from '../../src/config/persist/text-patch.js';
import { parseConfig } from '../../src/config/load/parse.js';

const TEXT = `# top comment
services:
  - name: svc   # the service
    host: blue  # live
    routes: [{ paths: ["/"] }]
  - name: other
    url: http://backend:8080/api
upstreams:
  - name: blue
    targets: [{ target: "a:1" }]
  - name: green
    targets:
      - target: b:1   # first
`;

function config(text = TEXT) {
  const r = parseConfig(text, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

describe('config overlay', () => {
  it('lists only the fields that changed, with null for a removed one', () => {
    const before = config();
    const after = editConfig(before, (d) => {
      d.services[0].split = { blue: 75, green: 25 };
      d.upstreams[1].targets.push({ target: 'c:1', weight: 0 });
    });
    expect(diffOverlay(before, after)).toEqual({
      services: { svc: { split: { blue: 75, green: 25 } } },
      upstreams: {
        green: {
          targets: [
            { target: 'b:1', weight: 100 },
            { target: 'c:1', weight: 0 },
          ],
        },
      },
    });
    const back = editConfig(after, (d) => void delete d.services[0].split);
    expect(diffOverlay(after, back).services).toEqual({ svc: { split: null } });
    expect(isEmpty(diffOverlay(before, before))).toBe(true);
  });

  it('writes changes in place, keeping comments, and declines what it cannot write without touching other entries', () => {
    const before = config();
    const switched = editConfig(before, (d) => {
      d.services[0].host = 'green';
    });
    const text = patchText(TEXT, diffOverlay(before, switched));
    expect(text).toBe(TEXT.replace('host: blue  # live', 'host: green # live'));
    expect(config(text)).toEqual(switched);
    // Kong's url shorthand spreads one value over several fields: such a change goes to the state file.
    const retried = editConfig(before, (d) => {
      d.services[1].retries = 1;
    });
    expect(patchText(TEXT, diffOverlay(before, retried))).toBeUndefined();
  });
});
