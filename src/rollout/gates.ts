import type { RolloutEngine, RolloutGate } from './engine.js';

/**
 * Ask a rollout's due gates (Flagger's confirm-rollout and confirm-promotion webhooks) whether
 * it may move on: each is POSTed the rollout's state and must answer 2xx. Resolves with why
 * not (the first refusal, an error or a timeout), or undefined when every gate agreed.
 */
export async function askGates(gates: readonly RolloutGate[], e: RolloutEngine): Promise<string | undefined> {
  const p = e.plan;
  const body = JSON.stringify({
    service: p.service,
    from: p.from,
    to: p.to,
    step: e.step + 1,
    weight: e.weight(),
    next_weight: p.steps[Math.min(e.step + 1, p.steps.length - 1)],
    steps: p.steps,
    state: e.state,
  });
  const answers = await Promise.all(
    gates.map(async (g) => {
      try {
        const res = await fetch(g.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-switchyard-gate': g.before },
          body,
          signal: AbortSignal.timeout(g.timeoutMs),
          redirect: 'manual',
        });
        await res.arrayBuffer().catch(() => undefined);
        return res.status >= 200 && res.status < 300 ? undefined : `gate ${g.url} (before ${g.before}) answered ${res.status}`;
      } catch (err) {
        const why =
          err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${g.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
        return `gate ${g.url} (before ${g.before}) could not be asked: ${why}`;
      }
    }),
  );
  return answers.find((a) => a !== undefined);
}
