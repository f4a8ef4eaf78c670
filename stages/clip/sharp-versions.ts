// sharp's and libvips's versions, which belong in embed's fingerprint (decoding and resizing
// change the results), read without loading sharp's native library where the prebuilt packages
// state them: `pipeline status` asks every stage for its env, and loading sharp takes ~0.1 s.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface SharpVersions {
  sharp: string;
  libvips: string;
}

const require = createRequire(import.meta.url);

function packageVersion(entry: string, name: string): string | undefined {
  // sharp's package.json is not in its exports map: find it above its entry point.
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version;
    }
  }
  return undefined;
}

/** From package metadata: sharp's prebuilt binary for this platform is linked to the prebuilt libvips beside it. */
function fromPackages(): SharpVersions | undefined {
  try {
    const sharp = packageVersion(require.resolve('sharp'), 'sharp');
    if (sharp === undefined) return undefined;
    for (const platform of [`${process.platform}-${process.arch}`, `${process.platform}musl-${process.arch}`]) {
      try {
        require.resolve(`@img/sharp-${platform}/package`);
        const v = require(`@img/sharp-libvips-${platform}/versions`) as { vips?: string };
        if (typeof v.vips === 'string') return { sharp, libvips: v.vips };
      } catch {
        // not this platform's package
      }
    }
  } catch {
    // sharp built from source, or an unusual layout: ask sharp itself
  }
  return undefined;
}

export async function sharpVersions(): Promise<SharpVersions> {
  return fromPackages() ?? loadedSharpVersions();
}

/** The versions as sharp itself reports them (loads the native library). */
export async function loadedSharpVersions(): Promise<SharpVersions> {
  const sharp = (await import('sharp')).default;
  return { sharp: sharp.versions.sharp ?? 'unknown', libvips: sharp.versions.vips };
}
