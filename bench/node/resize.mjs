// Resizes textures with sharp (libvips) to a longest-side cap, as the worker's texture stage
// does: never upscaled, aspect kept, PNG stays PNG, JPEG stays JPEG. Prints {"wall_s", "files"}.
// Usage: node resize.mjs OUT_DIR CAP FILE...
import sharp from 'sharp';
import { basename, extname, join } from 'node:path';

const [outDir, capText, ...files] = process.argv.slice(2);
const cap = parseInt(capText, 10);
const started = process.hrtime.bigint();
await Promise.all(files.map(async (file) => {
  const image = sharp(file).resize({ width: cap, height: cap, fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' });
  const out = join(outDir, basename(file));
  if (extname(file).toLowerCase() === '.png') await image.png({ compressionLevel: 6 }).toFile(out);
  else await image.jpeg({ quality: 90 }).toFile(out);
}));
console.log(JSON.stringify({ wall_s: Number(process.hrtime.bigint() - started) / 1e9, files: files.length }));
