export * from "./planner";
export * from "./local";
export * from "./executor";
export * from "./report";
export * from "./run";
