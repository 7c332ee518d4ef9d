export * from "./copy";
export * from "./types";
export { checkStorageUrl } from "./checks";
export * from "./journal";
export * from "./undo";
export * from "./wait";
