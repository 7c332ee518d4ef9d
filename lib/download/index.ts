export * from "./engine";
export * from "./scheduler";
export * from "./names";
export * from "./limiter";
export * from "./segments";
export * from "./fs";
export * from "./journal";
export * from "./claims";
