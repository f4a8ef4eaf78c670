// SVG -> PNG through sharp (libvips rasterises SVG with librsvg; text in DejaVu Sans).
import sharp from 'sharp';

/** Renders an SVG at `scale` times its pixel size (2 gives crisp figures on high-density screens). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  // librsvg renders at 72 dpi by default: one SVG px per PNG pixel.
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
}
