// Archive-set recognition from names (fast-check): generated sets of every naming style, mixed with
// other files and shuffled, come back as exactly those sets, each with its first volume and its
// parts in order; folders never mix; any name is safe to look at.
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { archiveVolumeOf, missingVolumeNames, recognizeArchiveSets, type ArchiveFileLike } from "../lib/media-jobs";

type Style = "part" | "classic" | "zip";

/** Volume names of a set, first first. */
function volumeNames(base: string, style: Style, count: number, digits: number, upper: boolean): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    if (style === "part") names.push(`${base}.part${String(i + 1).padStart(digits, "0")}.rar`);
    else if (style === "classic") names.push(i === 0 ? `${base}.rar` : `${base}.r${String(i - 1).padStart(2, "0")}`);
    else names.push(i === 0 ? `${base}.zip` : `${base}.z${String(i).padStart(2, "0")}`);
  }
  return upper ? names.map((n) => n.replace(/\.([a-z0-9]+)$/i, (_m, ext: string) => "." + ext.toUpperCase())) : names;
}

// Bases that cannot themselves look like a volume suffix ("x.part1" would be read as part of a part name).
const base = fc.stringMatching(/^[A-Za-z0-9 _\-()[\]ü🎬]{1,20}$/u).filter((b) => b.trim() !== "" && !/\.part\d+$/i.test(b));
const setSpec = fc.record({
  base,
  style: fc.constantFrom<Style>("part", "classic", "zip"),
  count: fc.integer({ min: 1, max: 12 }),
  digits: fc.integer({ min: 1, max: 3 }),
  upper: fc.boolean(),
  folder: fc.integer({ min: 1, max: 3 }),
});
const distractor = fc.constantFrom(
  "movie.mkv",
  "readme.nfo",
  "sample.mp4",
  "subs.srt",
  "archive.7z",
  "x.tar.gz",
  "rar",
  ".rar",
  "notes.part1.txt",
  "a.zip.txt",
  "b.r0",
);

describe("media: archive-set recognition", () => {
  it("property: generated sets among other files are recognised exactly, whatever the order", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(setSpec, { selector: (s) => `${s.folder}/${s.style}/${s.base}`, maxLength: 5 }),
        fc.array(distractor, { maxLength: 6 }),
        fc.integer(),
        (specs, others, seed) => {
          // Two sets of one style with the same base in one folder would be one set: uniqueArray keeps them apart.
          const dedup = specs;
          let id = 1;
          const files: Array<ArchiveFileLike & { set: number }> = [];
          const expected = dedup.map((s, setIndex) => {
            const digits = s.style === "part" ? Math.max(s.digits, String(s.count).length) : s.digits;
            const names = volumeNames(s.base, s.style, s.count, digits, s.upper);
            const made = names.map((name) => ({ id: id++, name, parent_id: s.folder, file_type: "ARCHIVE", set: setIndex }));
            files.push(...made);
            return made;
          });
          for (const name of others) files.push({ id: id++, name, parent_id: 1, file_type: "FILE", set: -1 });
          // A folder named like an archive is no archive.
          files.push({ id: id++, name: "Folder.rar", parent_id: 2, file_type: "FOLDER", set: -1 });
          const shuffled = fc.sample(fc.shuffledSubarray(files, { minLength: files.length, maxLength: files.length }), { numRuns: 1, seed })[0];
          const sets = recognizeArchiveSets(shuffled);
          assert.equal(sets.length, expected.length, JSON.stringify(sets.map((s) => s.parts.map((p) => p.name))));
          for (const want of expected) {
            const got = sets.find((s) => s.first.id === want[0].id);
            assert.ok(got, `set of ${want[0].name}`);
            assert.deepEqual(
              got.parts.map((p) => p.id),
              want.map((p) => p.id),
            );
            assert.deepEqual(got.missing, []);
          }
          // Every volume in exactly one set; no distractor in any.
          const all = sets.flatMap((s) => s.parts.map((p) => p.id));
          assert.equal(new Set(all).size, all.length);
          assert.equal(all.length, expected.flat().length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: removing middle volumes is reported as missing, with their names", () => {
    fc.assert(
      fc.property(
        base,
        fc.constantFrom<Style>("part", "classic", "zip"),
        fc.integer({ min: 3, max: 9 }),
        fc.integer({ min: 1, max: 100 }),
        (b, style, count, pick) => {
          const names = volumeNames(b, style, count, 2, false);
          const drop = 1 + (pick % (count - 2)); // never the first or the last
          const files = names.filter((_, i) => i !== drop).map((name, i) => ({ id: i + 1, name, parent_id: 0 }));
          const [set] = recognizeArchiveSets(files);
          assert.equal(set.missing.length, 1);
          assert.deepEqual(missingVolumeNames(set), [names[drop]]);
        },
      ),
    );
  });

  it("property: any name is safe to look at (never throws; a result names a base and an order)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 40 }), { maxLength: 20 }), (names) => {
        const sets = recognizeArchiveSets(names.map((name, i) => ({ id: i, name, parent_id: 0 })));
        for (const s of sets) assert.ok(s.parts.includes(s.first));
        for (const n of names) {
          const v = archiveVolumeOf(n);
          if (v) assert.ok(v.base.length > 0 && Number.isInteger(v.order));
        }
      }),
    );
  });

  it("examples: a lone .r00 or part2 is a set with its first volume missing; volumes in other folders stay apart", () => {
    const lone = recognizeArchiveSets([{ id: 1, name: "x.r00", parent_id: 0 }]);
    assert.deepEqual(missingVolumeNames(lone[0]), ["x.rar"]);
    const part2 = recognizeArchiveSets([{ id: 1, name: "y.part2.rar", parent_id: 0 }]);
    assert.deepEqual(missingVolumeNames(part2[0]), ["y.part01.rar"]);
    const apart = recognizeArchiveSets([
      { id: 1, name: "s.part1.rar", parent_id: 1 },
      { id: 2, name: "s.part2.rar", parent_id: 2 },
    ]);
    assert.equal(apart.length, 2);
    assert.deepEqual(archiveVolumeOf("Show.S01E01.PART010.RAR"), { base: "Show.S01E01", format: "rar", style: "part", order: 10 });
    assert.equal(archiveVolumeOf("movie.mkv"), null);
  });
});
