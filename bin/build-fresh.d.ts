// Types of build-fresh.js, which stays plain CommonJS: bin/traceanchor.js loads it before ts-node or dist/.

/** True when `compiled` and the build stamp exist and no source changed after the build. */
export function buildIsFresh(compiled: string): boolean;
/** The repository root. */
export const root: string;
