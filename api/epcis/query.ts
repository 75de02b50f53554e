/**
 * EPCIS 2.0 query interface (GET /epcis/events and the other query endpoints). Not built yet.
 */
import type { FastifyPluginAsync } from "fastify";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the query change
export interface QueryDeps {}

export const queryRoutes: FastifyPluginAsync<QueryDeps> = async () => {};
