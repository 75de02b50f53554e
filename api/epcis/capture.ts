/**
 * EPCIS 2.0 capture interface (POST /epcis/capture, /epcis/events, capture jobs). Not built yet.
 */
import type { FastifyPluginAsync } from "fastify";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the capture change
export interface CaptureDeps {}

export const captureRoutes: FastifyPluginAsync<CaptureDeps> = async () => {};
