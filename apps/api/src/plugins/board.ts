// The BullMQ queue board at /admin/queues (bull-board). Access is checked by
// the auth plugin (the operator key, when API_KEYS is set).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { PageQueue } from '@crawlstream/jobs';
import type { FastifyInstance } from 'fastify';

export const BOARD_PATH = '/admin/queues';

export async function boardRoutes(app: FastifyInstance, options: { queue: PageQueue }): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(options.queue)], serverAdapter });
  await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
}
