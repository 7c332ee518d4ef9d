export * from "./engine";
export * from "./scheduler";
// Filters live in lib/domains/filters.ts (shared with the files node); re-exported for the engine's users.
export * from "../domains/filters";
export * from "./names";
export * from "../core/crc";
export * from "./limiter";
export * from "./segments";
export * from "./fs";
export * from "./journal";
export * from "./claims";
