export * from "./fs";
export * from "./folders";
export * from "./names";
export * from "./place";
export * from "./claims";
export * from "./locks";
export * from "./commit";
export * from "./ownership";
