// SVG -> PNG through sharp (libvips rasterises SVG with librsvg; text in DejaVu Sans).
// sharp is imported when a plot is rendered, not when the metrics kind is loaded (`status`
// loads every kind).

/** Renders an SVG at `scale` times its pixel size (2 gives crisp figures on high-density screens). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  // librsvg renders at 72 dpi by default: one SVG px per PNG pixel.
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
}
