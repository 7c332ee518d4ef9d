/**
 * Samples and extras of a release, left on put.io by the local copy (the *arr apps never import
 * them). The rule, on the put.io paths below the torrent's own folder, case-insensitive:
 *
 * 1. a file inside a folder (at any depth) whose whole name is one of EXTRAS_FOLDERS ("Sample",
 *    "Extras", "Featurettes", …) is skipped;
 * 2. an `.nfo` file is skipped;
 * 3. a video whose name has the word "sample" (words are split at anything but letters and
 *    digits: "movie-sample.mkv", "Sample.mkv"; not "resample.mkv") is skipped when it is smaller
 *    than a quarter of the main video (an episode titled "The Sample" is as big as its siblings).
 *
 * Never skipped: the main video, the largest video of the torrent (the first by path on a tie),
 * wherever it is and whatever its name ("Sample.Movie.2019.mkv" alone in its torrent is copied);
 * the torrent's own name never counts (it is not "below" itself); and when the rule would leave
 * no file at all, nothing is skipped (the app sees everything and decides). Other files
 * (subtitles, images) are kept unless rule 1 applies.
 */
import { VIDEO_NAME } from "../media-jobs/subtitles";
import type { PlanCandidate } from "../download/job";

/** "categories": only torrents in an app's category folder (the default); "all"; "none". */
export type SkipExtras = "categories" | "all" | "none";

export const SKIP_EXTRAS: readonly SkipExtras[] = ["categories", "all", "none"];

/** Folder names (whole, case-insensitive) whose files are extras, not the release. */
export const EXTRAS_FOLDERS: ReadonlySet<string> = new Set([
  "sample",
  "samples",
  "extra",
  "extras",
  "featurette",
  "featurettes",
  "trailer",
  "trailers",
  "behind the scenes",
  "deleted scenes",
]);

const fold = (s: string) => s.trim().toLowerCase();
const isVideo = (f: PlanCandidate["file"]) => f.file_type === "VIDEO" || VIDEO_NAME.test(f.name);
const hasSampleWord = (name: string) =>
  name
    .replace(/\.[^.]*$/, "")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .includes("sample");

/** Whether the policy applies to a torrent of this category ("" = none: added without one). */
export function skipsExtras(policy: SkipExtras | undefined, category: string): boolean {
  return policy === "all" || ((policy ?? "categories") === "categories" && category !== "");
}

/** For each file, whether to keep it (the rule above). */
export function keepNotExtras(files: ReadonlyArray<PlanCandidate>): boolean[] {
  let main = -1;
  files.forEach((c, i) => {
    if (!isVideo(c.file)) return;
    const m = main < 0 ? null : files[main]!;
    if (!m || c.file.size > m.file.size || (c.file.size === m.file.size && c.putioPath < m.putioPath)) main = i;
  });
  const mainSize = main < 0 ? 0 : files[main]!.file.size;
  const keep = files.map((c, i) => {
    if (i === main) return true;
    if (c.within.some((d) => EXTRAS_FOLDERS.has(fold(d)))) return false;
    if (/\.nfo$/i.test(c.file.name.trim())) return false;
    if (isVideo(c.file) && hasSampleWord(c.file.name) && c.file.size * 4 < mainSize) return false;
    return true;
  });
  return keep.some(Boolean) ? keep : files.map(() => true);
}

/** The files `keepNotExtras` leaves out, by put.io path (for the torrent's msgs). */
export function leftOut(files: ReadonlyArray<PlanCandidate>, keep: ReadonlyArray<boolean>): string[] {
  return files.filter((_, i) => keep[i] === false).map((c) => c.putioPath);
}
