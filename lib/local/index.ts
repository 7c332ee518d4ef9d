export * from "./fs";
export * from "./names";
export * from "./claims";
