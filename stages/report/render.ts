// SVG -> PNG through sharp (libvips rasterises SVG with librsvg, text through pango and
// fontconfig). PNG bytes must not depend on the machine: fontconfig would otherwise pick
// whatever "DejaVu Sans" or sans-serif the system has (or none), with the system's hinting and
// subpixel settings. So before sharp renders any text, FONTCONFIG_FILE points at a config that
// knows only the fonts bundled in stages/report/fonts/ and pins the rasteriser settings; the
// rest (librsvg, cairo, freetype, harfbuzz) is sharp's prebuilt libvips, whose version is in the
// metrics fingerprint. sharp is imported when a plot is rendered, not when the metrics kind is
// loaded (`status` loads every kind).
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBytes, hashParts } from '../../src/hash.js';
import { PACKAGE_ROOT } from '../../src/version.js';

/** The fonts the plots are drawn with (DejaVu Sans regular and bold; LICENSE beside them). */
export const FONT_DIR = join(PACKAGE_ROOT, 'stages', 'report', 'fonts');

let fontHash: string | undefined;
/** Content hash of the bundled fonts: part of the metrics stage's fingerprint. */
export function plotFontHash(): string {
  fontHash ??= hashParts(
    readdirSync(FONT_DIR)
      .filter((f) => f.endsWith('.ttf'))
      .sort()
      .map((f) => `${f}:${hashBytes(readFileSync(join(FONT_DIR, f)))}`),
  ).slice(0, 16);
  return fontHash;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The fontconfig configuration: the bundled fonts only, every family mapped to DejaVu Sans, fixed rendering settings. */
export function fontconfigXml(cacheDir: string): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir>${esc(FONT_DIR)}</dir>
  <cachedir>${esc(cacheDir)}</cachedir>
  <config><rescan><int>0</int></rescan></config>
  <match target="pattern">
    <edit name="family" mode="assign" binding="strong"><string>DejaVu Sans</string></edit>
  </match>
  <match target="font">
    <edit name="antialias" mode="assign"><bool>true</bool></edit>
    <edit name="hinting" mode="assign"><bool>false</bool></edit>
    <edit name="hintstyle" mode="assign"><const>hintnone</const></edit>
    <edit name="autohint" mode="assign"><bool>false</bool></edit>
    <edit name="rgba" mode="assign"><const>none</const></edit>
    <edit name="lcdfilter" mode="assign"><const>lcdnone</const></edit>
    <edit name="embeddedbitmap" mode="assign"><bool>false</bool></edit>
  </match>
</fontconfig>
`;
}

let configured = false;
/**
 * Points fontconfig at the bundled fonts (once per process, before sharp renders text). It
 * replaces any FONTCONFIG_FILE of the environment: a plot is drawn the same everywhere.
 */
export function usePlotFonts(): void {
  if (configured) return;
  const dir = join(tmpdir(), `pipeline-fontconfig-${hashParts([FONT_DIR, plotFontHash()]).slice(0, 12)}`);
  const file = join(dir, 'fonts.conf');
  const xml = fontconfigXml(join(dir, 'cache'));
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== xml) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, xml);
    renameSync(tmp, file);
  }
  process.env.FONTCONFIG_FILE = file;
  delete process.env.FONTCONFIG_PATH;
  delete process.env.FONTCONFIG_SYSROOT;
  configured = true;
}

/** Renders an SVG at `scale` times its pixel size (2 gives crisp figures on high-density screens). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  usePlotFonts();
  const { default: sharp } = await import('sharp');
  // librsvg renders at 72 dpi by default: one SVG px per PNG pixel.
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
}
