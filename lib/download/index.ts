export * from "./engine";
export * from "./scheduler";
// Filters live in lib/filters.ts (shared with the files node); re-exported for the engine's users.
export * from "../filters";
export * from "./names";
export * from "./crc";
export * from "./limiter";
export * from "./segments";
export * from "./fs";
export * from "./journal";
export * from "./claims";
