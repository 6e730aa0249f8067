//! A PDF written as it is made: each object goes to the output as soon as it is complete and
//! only its offset is kept, so a document of any number of pages holds one page in memory.
//! The cross-reference table and trailer close it. pdf-writer makes the objects' syntax.

use std::io::Write;

use pdf_writer::{Chunk, Name, Ref};

use crate::error::{Error, Result};

/// A failure of the PDF machinery (a font that cannot be read or subset), as an error.
pub fn pdf_err(what: impl std::fmt::Display) -> Error {
    Error::io(
        "cannot write the PDF report",
        std::io::Error::other(what.to_string()),
    )
}

/// `data` compressed for a `FlateDecode` stream (the same bytes every time).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

/// The objects written so far and where each starts.
pub struct ObjectWriter<'a> {
    out: &'a mut dyn Write,
    /// Bytes written so far.
    at: u64,
    /// Offset of each object by id (index 0 is the free head of the table).
    offsets: Vec<Option<u64>>,
}

impl<'a> ObjectWriter<'a> {
    /// Starts a document: its header.
    pub fn new(out: &'a mut dyn Write) -> Result<ObjectWriter<'a>> {
        let mut w = ObjectWriter {
            out,
            at: 0,
            offsets: vec![None],
        };
        w.put(b"%PDF-1.7\n%\x80\x80\x80\x80\n")?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(super::super::sink::write_err)?;
        self.at += bytes.len() as u64;
        Ok(())
    }

    /// A new object id, to be written later with [`Self::object`].
    pub fn alloc(&mut self) -> Ref {
        self.offsets.push(None);
        Ref::new(self.offsets.len() as i32 - 1)
    }

    /// Writes the one object `make` puts into a chunk (under an id from [`Self::alloc`]).
    pub fn object(&mut self, make: impl FnOnce(&mut Chunk)) -> Result<()> {
        let mut chunk = Chunk::new();
        make(&mut chunk);
        let ids: Vec<Ref> = chunk.refs().collect();
        let [id] = ids[..] else {
            return Err(pdf_err("an object chunk holds one object"));
        };
        self.offsets[id.get() as usize] = Some(self.at);
        self.put(chunk.as_bytes())
    }

    /// Ends the document: the catalog over `pages`, the document information, the
    /// cross-reference table and the trailer.
    pub fn finish(mut self, pages: Ref, title: &str) -> Result<()> {
        let (catalog, info) = (self.alloc(), self.alloc());
        self.object(|c| {
            c.indirect(catalog)
                .dict()
                .pair(Name(b"Type"), Name(b"Catalog"))
                .pair(Name(b"Pages"), pages);
        })?;
        self.object(|c| {
            c.indirect(info)
                .dict()
                .pair(Name(b"Title"), pdf_writer::TextStr(title))
                .pair(Name(b"Producer"), pdf_writer::TextStr("apr"));
        })?;
        let xref = self.at;
        let mut table = format!("xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len());
        for offset in &self.offsets[1..] {
            match offset {
                Some(at) => table.push_str(&format!("{at:010} 00000 n\r\n")),
                None => return Err(pdf_err("an object was allocated and never written")),
            }
        }
        table.push_str(&format!(
            "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len(),
            catalog.get(),
            info.get()
        ));
        self.put(table.as_bytes())?;
        self.out.flush().map_err(super::super::sink::write_err)
    }
}
