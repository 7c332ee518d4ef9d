export * from "./engine";
export * from "./scheduler";
export * from "./filters";
export * from "./names";
export * from "./crc";
export * from "./limiter";
export * from "./segments";
export * from "./fs";
