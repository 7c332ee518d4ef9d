export * from "./engine";
export * from "./scheduler";
export * from "./source";
export * from "./run-job";
export * from "./limiter";
export * from "./segments";
export * from "./journal";
export * from "./journaled-run";
