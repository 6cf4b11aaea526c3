import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { editConfig } from '../../src/config/edit.js';
import { applyToDocument, diffOverlay, isEmpty } from '../../src/config/overlay.js';
import { parseConfig } from '../../src/config/parse.js';

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
      upstreams: { green: { targets: [{ target: 'b:1', weight: 100 }, { target: 'c:1', weight: 0 }] } },
    });
    const back = editConfig(after, (d) => void delete d.services[0].split);
    expect(diffOverlay(after, back).services).toEqual({ svc: { split: null } });
    expect(isEmpty(diffOverlay(before, before))).toBe(true);
  });

  it('writes changes into the document keeping comments, and round-trips to the same config', () => {
    const before = config();
    const after = editConfig(before, (d) => {
      d.services[0].host = 'green';
      d.services[1].retries = 1;
    });
    const doc = parseDocument(TEXT);
    applyToDocument(doc, diffOverlay(before, after));
    const text = doc.toString();
    expect(text).toContain('# top comment');
    expect(text).toContain('host: green # live');
    expect(text).toContain('- name: svc # the service');
    expect(text).not.toContain('url:'); // Kong's url shorthand is expanded when a field beside it changes
    expect(config(text)).toEqual(after);
  });
});
