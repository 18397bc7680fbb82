// Fetches the text corpus for the demo's text generator: the King James Version of the Bible
// (1611; public domain — its Debian copyright file says "The copyright for the King James
// Version text of the Bible is expired"), from Debian's `bible-kjv-text` (the compressed text)
// and `bible-kjv` (the `bible` program that reads it). Needs apt-get and dpkg-deb (Debian/Ubuntu).
//
//   node tools/train/fetch-kjv.mjs     → tools/train/data/kjv.txt
//
// The output has one verse per line (verse numbers and chapter headings dropped) and a blank
// line between chapters: 1,189 chapters, 31,102 verses, about 4.3 MB.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const out = resolve(import.meta.dirname, 'data/kjv.txt');
const work = mkdtempSync(join(tmpdir(), 'kjv-'));
try {
  execFileSync('apt-get', ['download', 'bible-kjv', 'bible-kjv-text'], {
    cwd: work,
    stdio: 'inherit',
  });
  for (const deb of readdirSync(work).filter((f) => f.endsWith('.deb'))) {
    execFileSync('dpkg-deb', ['-x', join(work, deb), join(work, 'root')]);
  }
  const root = join(work, 'root');
  // -l1000: no line wrapping, so each verse is one line of the program's output.
  const raw = execFileSync(
    join(root, 'usr/bin/bible'),
    ['-p', join(root, 'usr/lib'), '-l1000', 'Gen1:1-Rev22:21'],
    { maxBuffer: 64 << 20, encoding: 'latin1' },
  );
  const chapters = [];
  let verses = 0;
  for (const line of raw.split('\n')) {
    const verse = /^\s+\d+ (.+)$/.exec(line);
    if (verse) {
      chapters.at(-1)?.push(verse[1].trim());
      verses++;
    } else if (/^\S.* \d+$/.test(line)) {
      chapters.push([]); // a heading such as "Genesis 1" starts a chapter
    } else if (line.trim() !== '') {
      throw new Error(`unexpected line in the bible program's output: ${JSON.stringify(line)}`);
    }
  }
  const text = `${chapters.map((c) => c.join('\n')).join('\n\n')}\n`;
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(out, text);
  console.log(`${chapters.length} chapters, ${verses} verses, ${text.length} bytes → ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
