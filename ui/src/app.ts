/**
 * The switchyard dashboard: one page on the admin listener. It reads the live feed
 * (GET /ui/events, one state a second) and acts through the admin API, with the admin
 * token kept for the tab (sessionStorage; never in a URL). Preact + htm, uPlot for the charts;
 * every file is served by switchyard itself.
 */
import htm from 'htm';
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';

const html = htm.bind(h);
const TOKEN_KEY = 'switchyard-admin-token';
/** Points kept per chart: five minutes at one a second. */
const KEEP = 300;
const PALETTE: Record<string, string> = { blue: '#2f6fde', green: '#1f9d55' };
const OTHERS = ['#8e44ad', '#d35400', '#16a085', '#7f8c8d'];

interface Judgement {
  at: string;
  step: number;
  weight: number;
  verdict: string;
  requests: number;
  errors: number;
  p99_ms: number | null;
  reason: string;
}
interface Rollout {
  state: string;
  reason: string | null;
  from: string;
  to: string;
  steps: number[];
  step: number;
  split: Record<string, number>;
  judgements: Judgement[];
  next_judgement_at: string | null;
}
interface HistoryEntry {
  at: string;
  event: string;
  traffic: Record<string, number>;
  generation: number;
  via: string;
  by: string;
  detail?: string;
  verdict?: string;
}
interface MirrorReport {
  mirror: { upstream: string; percent: number };
  totals: { copied: number; compared: number; matched: number };
  match_rate: number | null;
  mismatches: Record<string, number>;
  not_compared: Record<string, number>;
  samples: { at: string; result: string; method: string; path: string; primary_status: number | null; mirror_status: number | null; diff?: string }[];
}
interface Service {
  mirror: MirrorReport | null;
  name: string;
  host: string;
  previous_host?: string;
  traffic: Record<string, number>;
  rollout: Rollout | null;
  history: HistoryEntry[];
}
interface Target {
  target: string;
  weight: number;
  health: string;
}
interface Upstream {
  name: string;
  targets: Target[];
  rates: { rps: number; error_rate: number; p99_ms: number | null } | null;
}
interface State {
  at: string;
  generation: number;
  config_hash: string;
  services: Service[];
  upstreams: Upstream[];
  workers: { slot: number; pid: number; state: string; generation: number; requests: number }[] | null;
  fleet: { name: string; version: number; instances: { id: string; admin: string; version: number; at: number; leader?: boolean }[] } | null;
}

/** Per upstream: the last KEEP seconds of req/s, error % and p99. */
const series = new Map<string, { t: number[]; rps: (number | null)[]; err: (number | null)[]; p99: (number | null)[] }>();

function remember(state: State): void {
  const t = Date.parse(state.at) / 1000;
  for (const u of state.upstreams) {
    let s = series.get(u.name);
    if (!s) series.set(u.name, (s = { t: [], rps: [], err: [], p99: [] }));
    if (!u.rates) continue;
    s.t.push(t);
    s.rps.push(u.rates.rps);
    s.err.push(Math.round(u.rates.error_rate * 10000) / 100);
    s.p99.push(u.rates.p99_ms);
    if (s.t.length > KEEP) for (const a of [s.t, s.rps, s.err, s.p99]) a.shift();
  }
}

function colour(name: string, names: string[]): string {
  return PALETTE[name] ?? OTHERS[names.indexOf(name) % OTHERS.length];
}

/** A call to the admin API with the tab's token; throws the server's message. */
async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error((parsed as { message?: string }).message ?? `HTTP ${res.status}`);
  return parsed;
}

/**
 * Read the live feed (server-sent events over fetch, so the token goes in a header) until it
 * ends or `signal` aborts; false when the token is missing or refused.
 */
async function follow(onState: (s: State) => void, signal: AbortSignal): Promise<boolean> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token && ((await (await fetch('/ui/auth', { signal })).json()) as { token_required: boolean }).token_required) return false;
  const res = await fetch('/ui/events', { headers: token ? { authorization: `Bearer ${token}` } : {}, signal });
  if (res.status === 401) return false;
  if (!res.ok || !res.body) throw new Error(`the live feed answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) onState(JSON.parse(data) as State);
      end = buffer.indexOf('\n\n');
    }
  }
}

function App() {
  const [state, setState] = useState<State | null>(null);
  const [login, setLogin] = useState(false);
  const [toast, setToast] = useState<{ text: string; error: boolean } | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const stop = new AbortController();
    const go = async () => {
      for (;;) {
        try {
          const allowed = await follow((s) => {
            remember(s);
            setState(s);
          }, stop.signal);
          if (!allowed) {
            setLogin(true);
            return;
          }
          if (stop.signal.aborted) return;
        } catch {
          if (stop.signal.aborted) return;
        }
        // The feed ended (a restart): try again shortly.
        await new Promise((r) => setTimeout(r, 1000));
        if (stop.signal.aborted) return;
      }
    };
    void go();
    return () => stop.abort();
  }, [attempt]);

  const act = async (question: string, method: string, path: string, body?: unknown) => {
    if (!window.confirm(question)) return;
    try {
      await api(method, path, body);
      setToast({ text: `done: ${question.replace(/\?$/, '')}`, error: false });
    } catch (err) {
      setToast({ text: err instanceof Error ? err.message : String(err), error: true });
    }
    setTimeout(() => setToast(null), 5000);
  };

  if (login)
    return html`<${Login}
      onToken=${(token: string) => {
        sessionStorage.setItem(TOKEN_KEY, token);
        setLogin(false);
        setAttempt(attempt + 1);
      }}
    />`;
  if (!state) return html`<p class="muted" style="padding:1.5rem">connecting…</p>`;
  const names = state.upstreams.map((u) => u.name);
  return html`
    <header>
      <h1>switchyard</h1>
      <span>generation <b data-testid="generation">${state.generation}</b></span>
      <span class="muted">config ${state.config_hash}</span>
      <span class="muted">updated ${new Date(state.at).toLocaleTimeString()}</span>
    </header>
    <main>
      ${state.services.map((s) => html`<${ServiceCard} key=${s.name} service=${s} state=${state} names=${names} act=${act} />`)}
      <${Health} state=${state} act=${act} />
      <${Instances} state=${state} />
    </main>
    ${toast && html`<div class=${`toast ${toast.error ? 'error' : ''}`} role="status">${toast.text}</div>`}
  `;
}

function Login({ onToken }: { onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return html`
    <form
      class="login"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        onToken(value);
      }}
    >
      <h2>switchyard</h2>
      <p class="muted">This admin API needs its token. It is kept for this tab only.</p>
      <input type="password" name="token" placeholder="admin token" autocomplete="off" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} />
      <button class="primary" type="submit">Sign in</button>
    </form>
  `;
}

type Act = (question: string, method: string, path: string, body?: unknown) => Promise<void>;

function ServiceCard({ service, state, names, act }: { service: Service; state: State; names: string[]; act: Act }) {
  const path = `/services/${encodeURIComponent(service.name)}`;
  const shares = Object.entries(service.traffic);
  const used = [...new Set([...Object.keys(service.traffic), ...(service.rollout ? [service.rollout.from, service.rollout.to] : [])])];
  const live = service.rollout && (service.rollout.state === 'running' || service.rollout.state === 'paused');
  return html`
    <section class="card" data-service=${service.name}>
      <h2>${service.name}</h2>
      <div class="split" data-testid="split">
        ${shares.map(
          ([name, pct]) =>
            html`<div data-upstream=${name} data-percent=${pct} style=${`flex-grow:${pct};background:${colour(name, names)}`}>${pct > 7 ? `${name} ${pct}%` : ''}</div>`,
        )}
      </div>
      <div class="row">
        ${names
          .filter((n) => !(shares.length === 1 && shares[0][0] === n))
          .map((n) => html`<button onClick=${() => act(`Switch ${service.name} to ${n}?`, 'PATCH', path, { host: n, ...(live ? { force: true } : {}) })}>Switch to ${n}</button>`)}
        ${service.previous_host && !live && html`<button class="danger" onClick=${() => act(`Roll ${service.name} back to ${service.previous_host}?`, 'POST', `${path}/rollback`)}>Roll back to ${service.previous_host}</button>`}
      </div>
      <div class="charts">
        <${Chart} title="requests per second" field="rps" upstreams=${used} names=${names} />
        <${Chart} title="error rate (%)" field="err" upstreams=${used} names=${names} />
        <${Chart} title="p99 latency (ms)" field="p99" upstreams=${used} names=${names} />
      </div>
      ${service.mirror && html`<${MirrorPanel} report=${service.mirror} />`}
      <${RolloutPanel} service=${service} names=${names} act=${act} path=${path} />
      <h3>History</h3>
      <table>
        <tr><th>at</th><th>event</th><th>traffic</th><th>by</th><th>detail</th></tr>
        ${[...service.history].reverse().slice(0, 10).map(
          (e) => html`<tr>
            <td>${new Date(e.at).toLocaleTimeString()}</td>
            <td>${e.event}${e.verdict ? html` <span class=${`badge ${e.verdict === 'pass' ? 'pass' : e.verdict === 'fail' ? 'fail' : 'warn'}`}>${e.verdict}</span>` : ''}</td>
            <td>${Object.entries(e.traffic).map(([n, p]) => `${n} ${p}%`).join(' · ')}</td>
            <td class="muted">${e.via} ${e.by}</td>
            <td class="muted">${e.detail ?? ''}</td>
          </tr>`,
        )}
      </table>
    </section>
  `;
}

/** How the copies sent to the mirror compare: the match rate, mismatches by kind, the latest samples. */
function MirrorPanel({ report }: { report: MirrorReport }) {
  const r = report;
  const rate = r.match_rate === null ? '–' : `${(r.match_rate * 100).toFixed(2)}%`;
  const kinds = Object.entries(r.mismatches).filter(([, n]) => n > 0);
  return html`
    <h3>Mirror → ${r.mirror.upstream} (${r.mirror.percent}%)</h3>
    <div data-testid="mirror">
      <div class="row">
        <span class=${`badge ${r.match_rate === null ? '' : r.match_rate >= 0.99 ? 'pass' : 'fail'}`} data-testid="match-rate">match ${rate}</span>
        <span class="muted">${r.totals.compared} compared of ${r.totals.copied} copied</span>
        ${kinds.map(([k, n]) => html`<span class="muted">${k.replace('_', ' ')} ${n}</span>`)}
      </div>
      ${r.samples.length > 0 &&
      html`<table>
        <tr><th>at</th><th>result</th><th>request</th><th>status</th><th>difference</th></tr>
        ${[...r.samples].reverse().slice(0, 5).map(
          (x) => html`<tr>
            <td>${new Date(x.at).toLocaleTimeString()}</td>
            <td><span class="badge fail">${x.result}</span></td>
            <td>${x.method} ${x.path}</td>
            <td>${x.primary_status ?? '–'} / ${x.mirror_status ?? '–'}</td>
            <td class="muted">${x.diff ?? ''}</td>
          </tr>`,
        )}
      </table>`}
    </div>
  `;
}

function RolloutPanel({ service, names, act, path }: { service: Service; names: string[]; act: Act; path: string }) {
  const r = service.rollout;
  const [to, setTo] = useState(names.find((n) => n !== service.host) ?? '');
  const [steps, setSteps] = useState('10,25,50,100');
  const [interval, setIntervalText] = useState('30s');
  const [maxError, setMaxError] = useState('0.01');
  const [maxP99, setMaxP99] = useState('500');
  const [minRequests, setMinRequests] = useState('100');
  const live = r && (r.state === 'running' || r.state === 'paused');
  const command = (action: string) => act(`${action[0].toUpperCase()}${action.slice(1)} the rollout of ${service.name}?`, 'POST', `${path}/rollout/${action}`);
  return html`
    <h3>Rollout</h3>
    ${r &&
    html`<div data-testid="rollout">
      <div class="row">
        <span class=${`badge ${r.state}`} data-testid="rollout-state">${r.state}</span>
        <span>${r.from} → ${r.to}</span>
        <span class="steps">${r.step === 0 && html`<span class="now">shadow</span>`}${r.steps.map((s, i) => html`<span class=${i + 1 < r.step ? 'done' : i + 1 === r.step ? 'now' : ''}>${s}%</span>`)}</span>
        ${r.reason && html`<span class="muted">${r.reason}</span>`}
      </div>
      ${live &&
      html`<div class="row">
        ${r.state === 'running' && html`<button onClick=${() => command('pause')}>Pause</button>`}
        ${r.state === 'paused' && html`<button onClick=${() => command('resume')}>Resume</button>`}
        <button onClick=${() => command('promote')}>Promote to 100%</button>
        <button class="danger" onClick=${() => command('abort')}>Abort</button>
      </div>`}
      ${r.judgements.length > 0 &&
      html`<table>
        <tr><th>at</th><th>step</th><th>verdict</th><th>requests</th><th>errors</th><th>p99</th><th>why</th></tr>
        ${r.judgements.map(
          (j) => html`<tr>
            <td>${new Date(j.at).toLocaleTimeString()}</td>
            <td>${j.step === 0 ? 'shadow' : `${j.step} (${j.weight}%)`}</td>
            <td><span class=${`badge ${j.verdict === 'pass' ? 'pass' : j.verdict === 'fail' ? 'fail' : 'warn'}`}>${j.verdict}</span></td>
            <td>${j.requests}</td>
            <td>${j.errors}</td>
            <td>${j.p99_ms === null ? '–' : `${j.p99_ms} ms`}</td>
            <td class="muted">${j.reason}</td>
          </tr>`,
        )}
      </table>`}
    </div>`}
    ${!live &&
    html`<form
      class="row"
      data-testid="rollout-form"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        void act(`Start a rollout of ${service.name} to ${to} in steps ${steps}% every ${interval}?`, 'POST', `${path}/rollout`, {
          to,
          steps: steps.split(',').map((s) => Number(s.trim())),
          interval,
          analysis: { max_error_rate: Number(maxError), max_p99_ms: Number(maxP99), min_requests: Number(minRequests) },
        });
      }}
    >
      <label>to <select name="to" value=${to} onChange=${(e: Event) => setTo((e.target as HTMLSelectElement).value)}>${names.map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
      <label>steps <input name="steps" size="12" value=${steps} onInput=${(e: Event) => setSteps((e.target as HTMLInputElement).value)} /></label>
      <label>every <input name="interval" size="5" value=${interval} onInput=${(e: Event) => setIntervalText((e.target as HTMLInputElement).value)} /></label>
      <label>max error rate <input name="max_error_rate" size="5" value=${maxError} onInput=${(e: Event) => setMaxError((e.target as HTMLInputElement).value)} /></label>
      <label>max p99 ms <input name="max_p99_ms" size="5" value=${maxP99} onInput=${(e: Event) => setMaxP99((e.target as HTMLInputElement).value)} /></label>
      <label>min requests <input name="min_requests" size="5" value=${minRequests} onInput=${(e: Event) => setMinRequests((e.target as HTMLInputElement).value)} /></label>
      <button class="primary" type="submit">Start rollout</button>
    </form>`}
  `;
}

/** One uPlot chart of a field over the last minutes, a line per upstream. */
function Chart({ title, field, upstreams, names }: { title: string; field: 'rps' | 'err' | 'p99'; upstreams: string[]; names: string[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = upstreams.join(',');
  useEffect(() => {
    if (!box.current) return;
    const opts: uPlot.Options = {
      width: Math.max(280, box.current.clientWidth),
      height: 160,
      legend: { show: true },
      scales: { x: { time: true } },
      series: [{}, ...upstreams.map((u) => ({ label: u, stroke: colour(u, names), width: 2, spanGaps: true }))],
      axes: [{}, { size: 50 }],
    };
    plot.current = new uPlot(opts, data(upstreams, field), box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key]);
  useEffect(() => {
    plot.current?.setData(data(upstreams, field));
  });
  return html`<div class="chart"><h3>${title}</h3><div ref=${box}></div></div>`;
}

/** Aligned data for uPlot: the first upstream's timestamps, every upstream's values at those. */
function data(upstreams: string[], field: 'rps' | 'err' | 'p99'): uPlot.AlignedData {
  const t = series.get(upstreams[0])?.t ?? [];
  return [t, ...upstreams.map((u) => {
    const s = series.get(u);
    if (!s) return t.map(() => null);
    const offset = s.t.length - t.length;
    return t.map((_, i) => s[field][i + offset] ?? null);
  })];
}

function Health({ state, act }: { state: State; act: Act }) {
  return html`
    <section class="card">
      <h2>Targets</h2>
      <table data-testid="health">
        <tr><th>upstream</th><th>target</th><th>weight</th><th>health</th><th></th></tr>
        ${state.upstreams.flatMap((u) =>
          u.targets.map((t) => {
            const base = `/upstreams/${encodeURIComponent(u.name)}/targets/${encodeURIComponent(t.target)}`;
            return html`<tr>
              <td>${u.name}</td>
              <td>${t.target}</td>
              <td>${t.weight}</td>
              <td><span class=${`badge ${t.health}`}>${t.health}</span></td>
              <td>
                <button onClick=${() => act(`Mark ${t.target} of ${u.name} healthy?`, 'POST', `${base}/healthy`)}>Mark healthy</button>
                <button class="danger" onClick=${() => act(`Mark ${t.target} of ${u.name} unhealthy?`, 'POST', `${base}/unhealthy`)}>Mark unhealthy</button>
              </td>
            </tr>`;
          }),
        )}
      </table>
    </section>
  `;
}

function Instances({ state }: { state: State }) {
  if (!state.workers && !state.fleet) return null;
  return html`
    <section class="card">
      ${state.fleet &&
      html`<h2>Fleet ${state.fleet.name} (version ${state.fleet.version})</h2>
        <table>
          <tr><th>instance</th><th>admin</th><th>generation</th><th>last seen</th></tr>
          ${state.fleet.instances.map((i) => html`<tr><td>${i.id}${i.leader ? ' (leader)' : ''}</td><td>${i.admin}</td><td>${i.version}</td><td>${new Date(i.at).toLocaleTimeString()}</td></tr>`)}
        </table>`}
      ${state.workers &&
      html`<h2>Workers</h2>
        <table>
          <tr><th>slot</th><th>pid</th><th>state</th><th>generation</th><th>requests</th></tr>
          ${state.workers.map((w) => html`<tr><td>${w.slot}</td><td>${w.pid}</td><td>${w.state}</td><td>${w.generation}</td><td>${w.requests}</td></tr>`)}
        </table>`}
    </section>
  `;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
