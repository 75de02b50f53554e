export * from "./types";
export * from "./identity";
export * from "./trace";
export { numberedLines } from "./source";
