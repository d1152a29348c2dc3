//! JPEG/PNG decoding for the CLI and tests.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where [`decode_image`] reads from: a path (`&str`, `&Path`, `PathBuf`) or encoded bytes.
pub enum ImageSource<'a> {
    Path(PathBuf),
    Bytes(&'a [u8]),
}

impl From<&Path> for ImageSource<'_> {
    fn from(p: &Path) -> Self {
        ImageSource::Path(p.to_path_buf())
    }
}
impl From<&PathBuf> for ImageSource<'_> {
    fn from(p: &PathBuf) -> Self {
        ImageSource::Path(p.clone())
    }
}
impl From<PathBuf> for ImageSource<'_> {
    fn from(p: PathBuf) -> Self {
        ImageSource::Path(p)
    }
}
impl From<&str> for ImageSource<'_> {
    fn from(p: &str) -> Self {
        ImageSource::Path(PathBuf::from(p))
    }
}
impl<'a> From<&'a [u8]> for ImageSource<'a> {
    fn from(b: &'a [u8]) -> Self {
        ImageSource::Bytes(b)
    }
}
impl<'a> From<&'a Vec<u8>> for ImageSource<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        ImageSource::Bytes(b)
    }
}

/// Decodes a JPEG or PNG into packed RGB8: `(pixels, width, height)`, stride `3 * width`.
pub fn decode_image<'a>(src: impl Into<ImageSource<'a>>) -> Result<(Vec<u8>, u32, u32)> {
    let (img, what) = match src.into() {
        ImageSource::Path(p) => {
            let bytes = std::fs::read(&p).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?;
            (decode(&bytes), format!("`{}`", p.display()))
        }
        ImageSource::Bytes(b) => (decode(b), format!("{} bytes in memory", b.len())),
    };
    let img = img.map_err(|e| Error::Image(format!("{what}: {e} (JPEG and PNG are supported)")))?;
    let rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    Ok((rgb.into_raw(), w, h))
}

fn decode(bytes: &[u8]) -> image::ImageResult<image::DynamicImage> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()?
        .decode()
}
