//! The PDF's one font, DejaVu Sans, built into the binary (the same file the mailed charts
//! are drawn with): text is encoded as glyph ids of the font's subset (Identity-H), so any
//! character the font has is shown; its widths, read with skrifa, lay the table out; at the
//! end only the glyphs used are embedded (subsetter), with a ToUnicode map so that the text
//! can be copied and extracted. Nothing depends on the fonts of the machine.

use std::collections::HashMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Name, Rect, Ref, Str};
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};
use subsetter::GlyphRemapper;

use crate::error::Result;

use super::writer::{ObjectWriter, deflate, pdf_err};

static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
/// The font's name in the PDF: a subset is named with a six-letter tag before it.
const BASE_FONT: &[u8] = b"APRAAA+DejaVuSans";

/// A glyph as the PDF shows it: its id in the subset and its advance in 1/1000 em.
#[derive(Debug, Clone, Copy)]
struct Glyph {
    cid: u16,
    advance: f32,
}

/// The font, and the glyphs the document has used so far.
pub struct Font {
    face: FontRef<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
    /// The glyphs used, ASCII in a table (nearly every character of a report).
    ascii: [Option<Glyph>; 128],
    glyphs: HashMap<char, Glyph>,
    remapper: GlyphRemapper,
    /// The character each subset glyph stands for, by subset id (for ToUnicode).
    chars: Vec<Option<char>>,
    /// Advances in 1/1000 em, by subset id.
    widths: Vec<f32>,
}

impl Font {
    pub fn new() -> Result<Font> {
        let face = FontRef::new(DEJAVU_SANS).map_err(pdf_err)?;
        let metrics = face.glyph_metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(
            face.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        let notdef = metrics
            .advance_width(skrifa::GlyphId::new(0))
            .unwrap_or(0.0)
            * 1000.0
            / units_per_em;
        Ok(Font {
            face,
            metrics,
            units_per_em,
            ascii: [None; 128],
            glyphs: HashMap::new(),
            remapper: GlyphRemapper::new(),
            chars: vec![None],
            widths: vec![notdef],
        })
    }

    fn glyph(&mut self, c: char) -> Glyph {
        if let Some(Some(g)) = self.ascii.get(c as usize) {
            return *g;
        }
        if let Some(g) = self.glyphs.get(&c) {
            return *g;
        }
        // A character the font lacks shows as its empty box (glyph 0).
        let gid = self.face.charmap().map(c).unwrap_or_default();
        let old = u16::try_from(gid.to_u32()).unwrap_or(0);
        let cid = self.remapper.remap(old);
        let advance = self.metrics.advance_width(gid).unwrap_or(0.0) * 1000.0 / self.units_per_em;
        let at = usize::from(cid);
        if at >= self.widths.len() {
            self.widths.resize(at + 1, 0.0);
            self.chars.resize(at + 1, None);
        }
        self.widths[at] = advance;
        if old != 0 {
            self.chars[at].get_or_insert(c);
        }
        let g = Glyph { cid, advance };
        match self.ascii.get_mut(c as usize) {
            Some(slot) => *slot = Some(g),
            None => {
                self.glyphs.insert(c, g);
            }
        }
        g
    }

    /// The width of `text` at size 1 (in points per point of font size).
    pub fn width(&mut self, text: &str) -> f32 {
        text.chars().map(|c| self.glyph(c).advance).sum::<f32>() / 1000.0
    }

    /// `text` as the two-byte glyph codes a content stream shows, appended to `out`.
    pub fn encode(&mut self, text: &str, out: &mut Vec<u8>) {
        for c in text.chars() {
            out.extend_from_slice(&self.glyph(c).cid.to_be_bytes());
        }
    }

    /// Writes the font (Type0 `font`, its CIDFont, descriptor, subset and ToUnicode map)
    /// with the glyphs used so far.
    pub fn write(&self, w: &mut ObjectWriter<'_>, font: Ref) -> Result<()> {
        let (cid_font, descriptor, file, to_unicode) = (w.alloc(), w.alloc(), w.alloc(), w.alloc());
        let system = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        w.object(|c| {
            c.type0_font(font)
                .base_font(Name(BASE_FONT))
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid_font)
                .to_unicode(to_unicode);
        })?;
        w.object(|c| {
            let mut f = c.cid_font(cid_font);
            f.subtype(CidFontType::Type2)
                .base_font(Name(BASE_FONT))
                .system_info(system)
                .font_descriptor(descriptor)
                .cid_to_gid_map_predefined(Name(b"Identity"));
            f.widths().consecutive(0, self.widths.iter().copied());
        })?;
        let m = self.face.metrics(Size::unscaled(), LocationRef::default());
        let em = |v: f32| v * 1000.0 / self.units_per_em;
        let bbox = m
            .bounds
            .map(|b| Rect::new(em(b.x_min), em(b.y_min), em(b.x_max), em(b.y_max)))
            .unwrap_or(Rect::new(0.0, em(m.descent), 1000.0, em(m.ascent)));
        w.object(|c| {
            c.font_descriptor(descriptor)
                .name(Name(BASE_FONT))
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(bbox)
                .italic_angle(0.0)
                .ascent(em(m.ascent))
                .descent(em(m.descent))
                .cap_height(em(m.cap_height.unwrap_or(m.ascent)))
                .stem_v(80.0)
                .font_file2(file);
        })?;
        let subset = subsetter::subset(DEJAVU_SANS, 0, &self.remapper).map_err(pdf_err)?;
        let packed = deflate(&subset);
        w.object(|c| {
            c.stream(file, &packed)
                .filter(Filter::FlateDecode)
                .pair(Name(b"Length1"), subset.len() as i32);
        })?;
        let mut cmap = UnicodeCmap::new(Name(b"Custom"), system);
        for (cid, ch) in self.chars.iter().enumerate() {
            if let Some(ch) = ch {
                cmap.pair(cid as u16, *ch);
            }
        }
        let cmap = cmap.finish();
        w.object(|c| {
            c.cmap(to_unicode, &cmap)
                .name(Name(b"Custom"))
                .system_info(system);
        })?;
        Ok(())
    }
}
