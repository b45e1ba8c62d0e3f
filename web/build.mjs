// Builds static/vendor/jssip.js from src/jssip.js with esbuild (versions
// pinned in package-lock.json), and static/vendor/jssip.licenses.txt with
// the licence of every package inlined into it. With --check it builds in
// memory and fails when a committed file differs, so CI catches a bundle
// that is not what its sources and lock file give.
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, 'static', 'vendor');
const bundle = join(vendor, 'jssip.js');
const licenses = join(vendor, 'jssip.licenses.txt');

const result = await esbuild.build({
  entryPoints: [join(here, 'src', 'jssip.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  legalComments: 'eof',
  banner: { js: '/*! JsSIP and its dependencies, bundled by roombridge; licences: jssip.licenses.txt */' },
  // No absolute paths or timestamps: the same inputs give the same bytes.
  absWorkingDir: here,
  charset: 'utf8',
  metafile: true,
  write: false,
  outfile: bundle,
  logLevel: 'warning',
});

// The packages whose code went into the bundle, from esbuild's inputs.
const pkgs = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) pkgs.add(m[1]);
}
let text = '';
for (const name of [...pkgs].sort()) {
  const dir = join(here, 'node_modules', name);
  const meta = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  const file = (await readdir(dir)).find((f) => /^licen[cs]e(\.md|\.txt)?$/i.test(f));
  const body = file ? await readFile(join(dir, file), 'utf8') : `${meta.license} (no licence file in the package)\n`;
  text += `==== ${name} ${meta.version} (${meta.license}) ====\n\n${body.trim()}\n\n`;
}

const outputs = [
  [bundle, Buffer.from(result.outputFiles[0].contents)],
  [licenses, Buffer.from(text, 'utf8')],
];
if (process.argv.includes('--check')) {
  let ok = true;
  for (const [path, built] of outputs) {
    const committed = await readFile(path).catch(() => null);
    if (!committed || !committed.equals(built)) {
      console.error(`web: ${path} differs from a rebuild (${committed ? committed.length : 'missing'} vs ${built.length} bytes): run make web and commit it`);
      ok = false;
    }
  }
  if (!ok) process.exit(1);
  console.log(`web: the JsSIP bundle matches a rebuild (${outputs[0][1].length} bytes, ${pkgs.size} packages)`);
} else {
  await mkdir(vendor, { recursive: true });
  for (const [path, built] of outputs) await writeFile(path, built);
  console.log(`web: wrote ${bundle} (${outputs[0][1].length} bytes, ${[...pkgs].sort().join(', ')}; esbuild ${esbuild.version})`);
}
