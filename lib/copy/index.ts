export * from "./copy";
export * from "./wait";
