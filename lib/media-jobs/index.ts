/** The media jobs: extract archives on put.io, subtitles beside videos, MP4 versions. */
export * from "./archive-sets";
export * from "./errors";
export * from "./extraction";
export * from "./mp4";
export * from "./subtitles";
