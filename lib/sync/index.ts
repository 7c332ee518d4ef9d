export * from "./planner";
export * from "./local";
export * from "./executor";
export { emptyReport, reportOfPlan, trashStamp, type SyncReport } from "./report";
export * from "./run";
