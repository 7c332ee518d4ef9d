export * from "./engine";
export * from "./scheduler";
export * from "./limiter";
export * from "./segments";
export * from "./journal";
