import { NotFoundError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AdminRoute } from './router.js';

/** GET /metrics: Prometheus text (404 with metrics off). */
export function metricsRoutes(metrics: Metrics | undefined): AdminRoute[] {
  return [
    {
      methods: ['GET'],
      path: '/metrics',
      handler: async () => {
        if (!metrics) throw new NotFoundError('metrics are off (metrics.enabled: false)');
        return { status: 200, text: await metrics.text(), contentType: metrics.registry.contentType };
      },
    },
  ];
}
