export * from "./copy";
export * from "./journal";
export * from "./undo";
export * from "./wait";
